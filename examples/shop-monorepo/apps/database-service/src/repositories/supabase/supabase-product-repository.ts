import type { TablesInsert } from '../../database.types'
import { toRepositoryError } from '../errors'
import type { ProductRepository } from '../product-repository'
import type { NewProduct, Product } from '../types'
import type { Db } from './client'

export class SupabaseProductRepository implements ProductRepository {
  constructor(private readonly db: Db) {}

  async listActive(): Promise<Product[]> {
    const { data, error } = await this.db
      .from('products')
      .select('*')
      .eq('is_active', true)
      .order('title', { ascending: true })
    if (error) throw toRepositoryError(error)
    return data
  }

  async findById(id: string): Promise<Product | null> {
    const { data, error } = await this.db.from('products').select('*').eq('id', id).maybeSingle()
    if (error) throw toRepositoryError(error)
    return data
  }

  async findByIds(ids: string[]): Promise<Product[]> {
    if (ids.length === 0) return []
    const { data, error } = await this.db.from('products').select('*').in('id', ids)
    if (error) throw toRepositoryError(error)
    return data
  }

  async create(input: NewProduct): Promise<Product> {
    const row: TablesInsert<'products'> = {
      sku: input.sku,
      title: input.title,
      description: input.description ?? null,
      price_cents: input.price_cents,
      currency: input.currency ?? 'USD',
      stock: input.stock ?? 0,
      is_active: input.is_active ?? true,
      attributes: input.attributes ?? {},
    }
    const { data, error } = await this.db.from('products').insert(row).select('*').single()
    if (error) throw toRepositoryError(error)
    return data
  }
}
