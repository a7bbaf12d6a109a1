import type { Enums, Tables, TablesInsert, TablesUpdate } from '../database.types'

export type User = Tables<'users'>
export type NewUser = Pick<
  TablesInsert<'users'>,
  'telegram_id' | 'first_name' | 'last_name' | 'username' | 'language_code' | 'phone'
>
export type UserPatch = Pick<
  TablesUpdate<'users'>,
  'auth_user_id' | 'username' | 'first_name' | 'last_name' | 'language_code' | 'phone'
>

export type Product = Tables<'products'>
export type NewProduct = Pick<
  TablesInsert<'products'>,
  'sku' | 'title' | 'description' | 'price_cents' | 'currency' | 'stock' | 'is_active' | 'attributes'
>

export type OrderStatus = Enums<'order_status'>
export type Order = Tables<'orders'>
export type OrderItem = Tables<'order_items'>
export type NewOrderItem = Pick<TablesInsert<'order_items'>, 'product_id' | 'quantity' | 'unit_price_cents'>
export type NewOrder = Pick<TablesInsert<'orders'>, 'user_id' | 'currency' | 'note'> & {
  items: NewOrderItem[]
}
export type OrderWithItems = Order & { items: OrderItem[] }
