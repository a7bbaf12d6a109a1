/** Wire types of the Database Service API (JSON: timestamps are ISO strings). */

export type OrderStatus = 'pending' | 'paid' | 'shipped' | 'delivered' | 'cancelled'

export interface User {
  id: string
  auth_user_id: string | null
  telegram_id: number
  username: string | null
  first_name: string
  last_name: string | null
  language_code: string
  phone: string | null
  created_at: string
  updated_at: string
}

export interface CreateUserInput {
  telegram_id: number
  first_name: string
  last_name?: string | null
  username?: string | null
  language_code?: string
  phone?: string | null
}

export type UpdateUserInput = Partial<
  Pick<User, 'auth_user_id' | 'username' | 'first_name' | 'last_name' | 'language_code' | 'phone'>
>

export type Json = string | number | boolean | null | { [key: string]: Json | undefined } | Json[]

export interface Product {
  id: string
  sku: string
  title: string
  description: string | null
  price_cents: number
  currency: string
  stock: number
  is_active: boolean
  attributes: Json
  created_at: string
  updated_at: string
}

export interface CreateProductInput {
  sku: string
  title: string
  price_cents: number
  description?: string | null
  currency?: string
  stock?: number
  is_active?: boolean
  attributes?: Json
}

export interface Order {
  id: string
  user_id: string
  status: OrderStatus
  total_cents: number
  currency: string
  note: string | null
  created_at: string
  updated_at: string
}

export interface OrderItem {
  id: string
  order_id: string
  product_id: string
  quantity: number
  unit_price_cents: number
  created_at: string
}

export interface OrderWithItems extends Order {
  items: OrderItem[]
}

export interface CreateOrderInput {
  user_id: string
  note?: string | null
  items: { product_id: string; quantity: number }[]
}

export interface Health {
  status: 'ok'
}
