import type { NewProduct, Product } from './types'

/** The catalog (`public.products`). */
export type ProductRepository = {
  listActive: () => Promise<Product[]>
  findById: (id: string) => Promise<Product | null>
  findByIds: (ids: string[]) => Promise<Product[]>
  create: (input: NewProduct) => Promise<Product>
}
