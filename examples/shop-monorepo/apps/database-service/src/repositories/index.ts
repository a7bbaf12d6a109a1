import { MemoryOrderRepository } from './memory/memory-order-repository'
import { MemoryProductRepository } from './memory/memory-product-repository'
import { MemoryUserRepository } from './memory/memory-user-repository'
import type { OrderRepository } from './order-repository'
import type { ProductRepository } from './product-repository'
import type { Db } from './supabase/client'
import { SupabaseOrderRepository } from './supabase/supabase-order-repository'
import { SupabaseProductRepository } from './supabase/supabase-product-repository'
import { SupabaseUserRepository } from './supabase/supabase-user-repository'
import type { Product, User } from './types'
import type { UserRepository } from './user-repository'

export type { OrderRepository } from './order-repository'
export type { ProductRepository } from './product-repository'
export type { UserRepository } from './user-repository'
export type * from './types'

export interface Repositories {
  users: UserRepository
  products: ProductRepository
  orders: OrderRepository
}

export function createSupabaseRepositories(db: Db): Repositories {
  return {
    users: new SupabaseUserRepository(db),
    products: new SupabaseProductRepository(db),
    orders: new SupabaseOrderRepository(db),
  }
}

export function createMemoryRepositories(seed: { users?: User[]; products?: Product[] } = {}): Repositories {
  return {
    users: new MemoryUserRepository(seed.users),
    products: new MemoryProductRepository(seed.products),
    orders: new MemoryOrderRepository(),
  }
}
