import type { OrderRepository } from '../order-repository'
import type { NewOrder, Order, OrderItem, OrderStatus, OrderWithItems } from '../types'

export class MemoryOrderRepository implements OrderRepository {
  private readonly orders = new Map<string, Order>()
  private readonly items = new Map<string, OrderItem[]>()

  async findById(id: string): Promise<Order | null> {
    const order = this.orders.get(id)
    return order ? { ...order } : null
  }

  async listByUser(userId: string): Promise<Order[]> {
    return [...this.orders.values()]
      .filter((order) => order.user_id === userId)
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .map((order) => ({ ...order }))
  }

  async create(input: NewOrder): Promise<OrderWithItems> {
    const now = new Date().toISOString()
    const order: Order = {
      id: crypto.randomUUID(),
      user_id: input.user_id,
      status: 'pending',
      total_cents: input.items.reduce((sum, item) => sum + item.quantity * item.unit_price_cents, 0),
      currency: input.currency ?? 'USD',
      note: input.note ?? null,
      created_at: now,
      updated_at: now,
    }
    const items: OrderItem[] = input.items.map((item) => ({
      id: crypto.randomUUID(),
      order_id: order.id,
      product_id: item.product_id,
      quantity: item.quantity,
      unit_price_cents: item.unit_price_cents,
      created_at: now,
    }))
    this.orders.set(order.id, order)
    this.items.set(order.id, items)
    return { ...order, items: items.map((item) => ({ ...item })) }
  }

  async updateStatus(id: string, status: OrderStatus): Promise<Order | null> {
    const order = this.orders.get(id)
    if (!order) return null
    const next: Order = { ...order, status, updated_at: new Date().toISOString() }
    this.orders.set(id, next)
    return { ...next }
  }

  async listItems(orderId: string): Promise<OrderItem[]> {
    return (this.items.get(orderId) ?? []).map((item) => ({ ...item }))
  }
}
