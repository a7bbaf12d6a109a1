import { Hono } from 'hono'
import type { AppEnv } from '../env'
import { parseOrderRequest, parseOrderStatus } from '../validation'

export const orders = new Hono<AppEnv>()

/** Prices come from the catalog, never from the caller. */
orders.post('/', async (c) => {
  const { repos } = c.var
  const request = parseOrderRequest(await c.req.json())
  const user = await repos.users.findById(request.user_id)
  if (!user) return c.json({ error: 'user_not_found' }, 422)

  const products = await repos.products.findByIds(request.items.map((item) => item.product_id))
  const byId = new Map(products.map((product) => [product.id, product]))
  const items = []
  for (const item of request.items) {
    const product = byId.get(item.product_id)
    if (!product || !product.is_active) {
      return c.json({ error: 'product_unavailable', product_id: item.product_id }, 422)
    }
    items.push({ product_id: product.id, quantity: item.quantity, unit_price_cents: product.price_cents })
  }
  const currencies = new Set(products.map((product) => product.currency))
  if (currencies.size > 1) return c.json({ error: 'mixed_currencies' }, 422)

  const order = await repos.orders.create({
    user_id: user.id,
    currency: products[0]?.currency,
    note: request.note,
    items,
  })
  return c.json(order, 201)
})

orders.get('/:id', async (c) => {
  const order = await c.var.repos.orders.findById(c.req.param('id'))
  if (!order) return c.json({ error: 'order_not_found' }, 404)
  return c.json(order)
})

orders.patch('/:id/status', async (c) => {
  const status = parseOrderStatus(await c.req.json())
  const order = await c.var.repos.orders.updateStatus(c.req.param('id'), status)
  if (!order) return c.json({ error: 'order_not_found' }, 404)
  return c.json(order)
})

orders.get('/:id/items', async (c) => {
  const { repos } = c.var
  const order = await repos.orders.findById(c.req.param('id'))
  if (!order) return c.json({ error: 'order_not_found' }, 404)
  return c.json(await repos.orders.listItems(order.id))
})
