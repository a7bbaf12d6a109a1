import type { NewOrder, Order, OrderItem, OrderStatus, OrderWithItems } from './types'

/** Orders (`public.orders`) and their line items (`public.order_items`). */
export interface OrderRepository {
  findById(id: string): Promise<Order | null>
  listByUser(userId: string): Promise<Order[]>
  create(input: NewOrder): Promise<OrderWithItems>
  updateStatus(id: string, status: OrderStatus): Promise<Order | null>
  listItems(orderId: string): Promise<OrderItem[]>
}
