import type { DatabaseClient, Order, OrderItem, Product, User } from '@shop/database-client'
import { escapeHtml, money } from './html'

export function renderCatalog(products: Product[]): string {
  const cards = products.map(
    (product) =>
      `<li data-sku="${escapeHtml(product.sku)}"><h2>${escapeHtml(product.title)}</h2>` +
      `<p>${escapeHtml(product.description ?? '')}</p><strong>${money(product.price_cents, product.currency)}</strong></li>`,
  )
  return `<ul class="catalog">${cards.join('')}</ul>`
}

export async function catalogPage(db: DatabaseClient): Promise<string> {
  return renderCatalog(await db.listProducts())
}

export async function productPage(db: DatabaseClient, id: string): Promise<string | null> {
  const product = await db.getProduct(id)
  if (!product) return null
  return `<article><h1>${escapeHtml(product.title)}</h1>${renderCatalog([product])}</article>`
}

export function renderOrder(order: Order, items: Array<OrderItem & { title: string }>): string {
  const rows = items
    .map((item) => `<tr><td>${escapeHtml(item.title)}</td><td>${item.quantity}</td><td>${money(item.unit_price_cents, order.currency)}</td></tr>`)
    .join('')
  return `<section class="order" data-status="${order.status}"><table>${rows}</table><p>Total: ${money(order.total_cents, order.currency)}</p></section>`
}

export async function orderPage(db: DatabaseClient, orderId: string): Promise<string | null> {
  const order = await db.getOrder(orderId)
  if (!order) return null
  const items = await db.listOrderItems(order.id)
  const titled = await Promise.all(
    items.map(async (item) => ({ ...item, title: (await db.getProduct(item.product_id))?.title ?? 'Unavailable product' })),
  )
  return renderOrder(order, titled)
}

export async function accountPage(db: DatabaseClient, userId: string): Promise<string | null> {
  const user: User | null = await db.getUser(userId)
  if (!user) return null
  const name = [user.first_name, user.last_name].filter(Boolean).join(' ')
  return `<h1>${escapeHtml(name)}</h1><p>Phone: ${escapeHtml(user.phone ?? 'not shared')}</p>`
}
