import { toRepositoryError } from '../errors'
import type { OrderRepository } from '../order-repository'
import type { NewOrder, Order, OrderItem, OrderStatus, OrderWithItems } from '../types'
import type { Db } from './client'

export class SupabaseOrderRepository implements OrderRepository {
  constructor(private readonly db: Db) {}

  async findById(id: string): Promise<Order | null> {
    const { data, error } = await this.db.from('orders').select('*').eq('id', id).maybeSingle()
    if (error) throw toRepositoryError(error)
    return data
  }

  async listByUser(userId: string): Promise<Order[]> {
    const { data, error } = await this.db
      .from('orders')
      .select('*')
      .eq('user_id', userId)
      .order('created_at', { ascending: false })
    if (error) throw toRepositoryError(error)
    return data
  }

  /**
   * PostgREST has no multi-statement transactions: the order is inserted first and
   * removed again if its items cannot be stored.
   */
  async create(input: NewOrder): Promise<OrderWithItems> {
    const total = input.items.reduce((sum, item) => sum + item.quantity * item.unit_price_cents, 0)
    const { data: order, error } = await this.db
      .from('orders')
      .insert({
        user_id: input.user_id,
        currency: input.currency ?? 'USD',
        note: input.note ?? null,
        total_cents: total,
      })
      .select('*')
      .single()
    if (error) throw toRepositoryError(error)

    const { data: items, error: itemsError } = await this.db
      .from('order_items')
      .insert(
        input.items.map((item) => ({
          order_id: order.id,
          product_id: item.product_id,
          quantity: item.quantity,
          unit_price_cents: item.unit_price_cents,
        })),
      )
      .select('*')
    if (itemsError) {
      await this.db.from('orders').delete().eq('id', order.id)
      throw toRepositoryError(itemsError)
    }
    return { ...order, items }
  }

  async updateStatus(id: string, status: OrderStatus): Promise<Order | null> {
    const { data, error } = await this.db
      .from('orders')
      .update({ status })
      .eq('id', id)
      .select('*')
      .maybeSingle()
    if (error) throw toRepositoryError(error)
    return data
  }

  async listItems(orderId: string): Promise<OrderItem[]> {
    const { data, error } = await this.db
      .from('order_items')
      .select('*')
      .eq('order_id', orderId)
      .order('created_at', { ascending: true })
    if (error) throw toRepositoryError(error)
    return data
  }
}
