import { ConflictError } from '../errors'
import type { ProductRepository } from '../product-repository'
import type { NewProduct, Product } from '../types'

export class MemoryProductRepository implements ProductRepository {
  private readonly rows = new Map<string, Product>()

  constructor(seed: Product[] = []) {
    for (const product of seed) this.rows.set(product.id, { ...product })
  }

  async listActive(): Promise<Product[]> {
    return [...this.rows.values()]
      .filter((product) => product.is_active)
      .sort((a, b) => a.title.localeCompare(b.title))
      .map((product) => ({ ...product }))
  }

  async findById(id: string): Promise<Product | null> {
    const product = this.rows.get(id)
    return product ? { ...product } : null
  }

  async findByIds(ids: string[]): Promise<Product[]> {
    return ids.flatMap((id) => {
      const product = this.rows.get(id)
      return product ? [{ ...product }] : []
    })
  }

  async create(input: NewProduct): Promise<Product> {
    if ([...this.rows.values()].some((product) => product.sku === input.sku)) {
      throw new ConflictError(`sku ${input.sku} already exists`)
    }
    const now = new Date().toISOString()
    const product: Product = {
      id: crypto.randomUUID(),
      sku: input.sku,
      title: input.title,
      description: input.description ?? null,
      price_cents: input.price_cents,
      currency: input.currency ?? 'USD',
      stock: input.stock ?? 0,
      is_active: input.is_active ?? true,
      attributes: input.attributes ?? {},
      created_at: now,
      updated_at: now,
    }
    this.rows.set(product.id, product)
    return { ...product }
  }
}
