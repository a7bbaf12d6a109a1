import { describe, expect, it, vi } from 'vitest'
import { DatabaseClient, DatabaseClientError } from './index'

function stubFetch(status: number, body?: unknown) {
  return vi.fn<typeof fetch>(async () =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    }),
  )
}

function lastCall(fetchMock: ReturnType<typeof stubFetch>) {
  const [url, init] = fetchMock.mock.calls.at(-1)!
  return {
    url: String(url),
    method: init?.method,
    headers: init?.headers as Record<string, string>,
    body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined,
  }
}

const user = { id: 'u1', telegram_id: 7, first_name: 'Alice' }

describe('DatabaseClient', () => {
  it('sends GET /users/:id with the service token', async () => {
    const fetchMock = stubFetch(200, user)
    const client = new DatabaseClient({ baseUrl: 'http://db.test/', token: 'secret', fetch: fetchMock })
    await expect(client.getUser('u1')).resolves.toEqual(user)
    const call = lastCall(fetchMock)
    expect(call).toMatchObject({ url: 'http://db.test/users/u1', method: 'GET', body: undefined })
    expect(call.headers.authorization).toBe('Bearer secret')
  })

  it('returns null for a 404 on lookups', async () => {
    const client = new DatabaseClient({ baseUrl: 'http://db.test', fetch: stubFetch(404, { error: 'user_not_found' }) })
    await expect(client.getUserByTelegramId(7)).resolves.toBeNull()
    await expect(client.getOrder('o1')).resolves.toBeNull()
  })

  it('throws DatabaseClientError for other failures', async () => {
    const client = new DatabaseClient({ baseUrl: 'http://db.test', fetch: stubFetch(409, { error: 'conflict' }) })
    const error = await client.createUser({ telegram_id: 7, first_name: 'Alice' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DatabaseClientError)
    expect(error).toMatchObject({ status: 409, method: 'POST', path: '/users', body: { error: 'conflict' } })
  })

  type Case = [name: string, method: string, path: string, body: unknown, invoke: (c: DatabaseClient) => Promise<unknown>]
  const cases: Case[] = [
    ['health', 'GET', '/health', undefined, (c) => c.health()],
    ['getUserByTelegramId', 'GET', '/users/by-telegram/7', undefined, (c) => c.getUserByTelegramId(7)],
    ['createUser', 'POST', '/users', { telegram_id: 7, first_name: 'A' }, (c) => c.createUser({ telegram_id: 7, first_name: 'A' })],
    ['updateUser', 'PATCH', '/users/u1', { phone: '+4915112345678' }, (c) => c.updateUser('u1', { phone: '+4915112345678' })],
    ['listUserOrders', 'GET', '/users/u1/orders', undefined, (c) => c.listUserOrders('u1')],
    ['listProducts', 'GET', '/products', undefined, (c) => c.listProducts()],
    ['getProduct', 'GET', '/products/p1', undefined, (c) => c.getProduct('p1')],
    ['createProduct', 'POST', '/products', { sku: 'S', title: 'T', price_cents: 1 }, (c) => c.createProduct({ sku: 'S', title: 'T', price_cents: 1 })],
    ['createOrder', 'POST', '/orders', { user_id: 'u1', items: [] }, (c) => c.createOrder({ user_id: 'u1', items: [] })],
    ['getOrder', 'GET', '/orders/o%201', undefined, (c) => c.getOrder('o 1')],
    ['updateOrderStatus', 'PATCH', '/orders/o1/status', { status: 'paid' }, (c) => c.updateOrderStatus('o1', 'paid')],
    ['listOrderItems', 'GET', '/orders/o1/items', undefined, (c) => c.listOrderItems('o1')],
  ]

  it.each(cases)('%s sends %s %s', async (_name, method, path, body, invoke) => {
    const fetchMock = stubFetch(200, {})
    await invoke(new DatabaseClient({ baseUrl: 'http://db.test', fetch: fetchMock }))
    expect(lastCall(fetchMock)).toMatchObject({ url: `http://db.test${path}`, method, body })
  })
})
