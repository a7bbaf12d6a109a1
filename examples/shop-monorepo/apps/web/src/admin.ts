import type { CreateProductInput, DatabaseClient, Order, OrderStatus, Product } from '@shop/database-client'

const NEXT_STATUS: Partial<Record<OrderStatus, OrderStatus>> = {
  pending: 'paid',
  paid: 'shipped',
  shipped: 'delivered',
}

/** Back office: advance an order to its next status. */
export async function advanceOrder(db: DatabaseClient, order: Order): Promise<Order> {
  const next = NEXT_STATUS[order.status]
  if (!next) throw new Error(`order ${order.id} is ${order.status} and cannot advance`)
  return db.updateOrderStatus(order.id, next)
}

export async function cancelOrder(db: DatabaseClient, order: Order): Promise<Order> {
  if (order.status === 'shipped' || order.status === 'delivered') {
    throw new Error(`order ${order.id} has already shipped`)
  }
  return db.updateOrderStatus(order.id, 'cancelled')
}

export async function addProduct(db: DatabaseClient, input: CreateProductInput): Promise<Product> {
  return db.createProduct({ ...input, sku: input.sku.trim().toUpperCase() })
}
