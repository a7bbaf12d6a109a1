import { describe, expect, it } from 'vitest'
import { product, setup } from './helpers'

async function customer(call: ReturnType<typeof setup>['call']) {
  const res = await call('POST', '/users', { telegram_id: 555, first_name: 'Bob' })
  return (await res.json()) as { id: string }
}

describe('products routes', () => {
  it('lists only active products, sorted by title', async () => {
    const tea = product({ title: 'Tea' })
    const cocoa = product({ sku: 'COC-1', title: 'Cocoa' })
    const hidden = product({ sku: 'OLD-1', title: 'Old stock', is_active: false })
    const { call } = setup({ products: [tea, cocoa, hidden] })
    const list = await (await call('GET', '/products')).json()
    expect(list.map((p: { title: string }) => p.title)).toEqual(['Cocoa', 'Tea'])
    expect((await call('GET', `/products/${hidden.id}`)).status).toBe(200)
  })

  it('creates a product with defaults', async () => {
    const { call } = setup()
    const res = await call('POST', '/products', { sku: 'MUG-1', title: 'Mug', price_cents: 1200 })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ currency: 'USD', stock: 0, is_active: true, attributes: {} })
    expect((await call('POST', '/products', { sku: 'MUG-1', title: 'Mug', price_cents: 1 })).status).toBe(409)
  })
})

describe('orders routes', () => {
  it('prices an order from the catalog and lists it for the user', async () => {
    const tea = product()
    const { call } = setup({ products: [tea] })
    const user = await customer(call)

    const res = await call('POST', '/orders', {
      user_id: user.id,
      note: 'ring twice',
      items: [{ product_id: tea.id, quantity: 3 }],
    })
    expect(res.status).toBe(201)
    const order = await res.json()
    expect(order).toMatchObject({ status: 'pending', total_cents: 1350, currency: 'EUR', note: 'ring twice' })
    expect(order.items).toHaveLength(1)

    expect(await (await call('GET', `/orders/${order.id}`)).json()).toMatchObject({ id: order.id })
    const items = await (await call('GET', `/orders/${order.id}/items`)).json()
    expect(items).toEqual([expect.objectContaining({ product_id: tea.id, quantity: 3, unit_price_cents: 450 })])
    const mine = await (await call('GET', `/users/${user.id}/orders`)).json()
    expect(mine.map((o: { id: string }) => o.id)).toEqual([order.id])
  })

  it('moves an order through its statuses', async () => {
    const tea = product()
    const { call } = setup({ products: [tea] })
    const user = await customer(call)
    const order = await (
      await call('POST', '/orders', { user_id: user.id, items: [{ product_id: tea.id, quantity: 1 }] })
    ).json()

    const paid = await call('PATCH', `/orders/${order.id}/status`, { status: 'paid' })
    expect((await paid.json()).status).toBe('paid')
    expect((await call('PATCH', `/orders/${order.id}/status`, { status: 'lost' })).status).toBe(400)
    expect((await call('PATCH', `/orders/${crypto.randomUUID()}/status`, { status: 'paid' })).status).toBe(404)
  })

  it('refuses unknown users and inactive products', async () => {
    const hidden = product({ is_active: false })
    const { call } = setup({ products: [hidden] })
    const user = await customer(call)
    const unknownUser = await call('POST', '/orders', {
      user_id: crypto.randomUUID(),
      items: [{ product_id: hidden.id, quantity: 1 }],
    })
    expect(unknownUser.status).toBe(422)
    const inactive = await call('POST', '/orders', { user_id: user.id, items: [{ product_id: hidden.id, quantity: 1 }] })
    expect(await inactive.json()).toMatchObject({ error: 'product_unavailable', product_id: hidden.id })
  })
})
