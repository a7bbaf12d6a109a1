import type { DatabaseClient } from '@shop/database-client'
import { catalogMessage, findBySku, formatPrice } from './catalog'
import { ensureCustomer } from './customers'
import type { TgMessage } from './telegram'

const HELP = [
  '/catalog — what is on sale',
  '/buy <sku> [quantity] — order a product',
  '/orders — your orders',
  'Share your contact to get delivery updates by SMS.',
].join('\n')

/** The reply to one incoming message, or null when there is nothing to say. */
export async function handleMessage(db: DatabaseClient, message: TgMessage): Promise<string | null> {
  if (!message.from || message.from.is_bot) return null
  const customer = await ensureCustomer(db, message.from)

  if (message.contact) {
    const phone = message.contact.phone_number.startsWith('+')
      ? message.contact.phone_number
      : `+${message.contact.phone_number}`
    await db.updateUser(customer.id, { phone })
    return 'Thanks! We will text you when your order ships.'
  }

  const [command = '', ...args] = (message.text ?? '').trim().split(/\s+/)
  switch (command) {
    case '/start':
      return `Hi ${customer.first_name}! 👋\n${HELP}`
    case '/catalog':
      return catalogMessage(db)
    case '/buy': {
      const [sku, quantityText = '1'] = args
      const quantity = Number.parseInt(quantityText, 10)
      if (!sku || !Number.isInteger(quantity) || quantity < 1) return 'Usage: /buy <sku> [quantity]'
      const product = await findBySku(db, sku)
      if (!product) return `No product with SKU ${sku}. See /catalog.`
      const order = await db.createOrder({
        user_id: customer.id,
        items: [{ product_id: product.id, quantity }],
      })
      return `Order placed: ${quantity} × ${product.title}, total ${formatPrice(order.total_cents, order.currency)}.`
    }
    case '/orders': {
      const orders = await db.listUserOrders(customer.id)
      if (orders.length === 0) return 'You have no orders yet. See /catalog.'
      return orders
        .map((order) => `${order.created_at.slice(0, 10)} · ${formatPrice(order.total_cents, order.currency)} · ${order.status}`)
        .join('\n')
    }
    default:
      return HELP
  }
}
