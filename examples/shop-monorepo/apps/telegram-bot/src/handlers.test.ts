import { DatabaseClient } from '@shop/database-client'
import { describe, expect, it, vi } from 'vitest'
import { handleMessage } from './handlers'
import type { TgMessage } from './telegram'

const customer = {
  id: 'u1',
  auth_user_id: null,
  telegram_id: 42,
  username: 'alice',
  first_name: 'Alice',
  last_name: null,
  language_code: 'en',
  phone: null,
  created_at: '2024-02-01T10:00:00Z',
  updated_at: '2024-02-01T10:00:00Z',
}
const tea = {
  id: 'p1',
  sku: 'TEA-001',
  title: 'Green tea',
  description: null,
  price_cents: 450,
  currency: 'EUR',
  stock: 3,
  is_active: true,
  attributes: {},
  created_at: '2024-01-15T09:45:00Z',
  updated_at: '2024-01-15T09:45:00Z',
}

/** A fake Database Service: answers by "METHOD path". */
function fakeService(routes: Record<string, unknown>) {
  const calls: string[] = []
  const fetchMock = vi.fn<typeof fetch>(async (input, init) => {
    const key = `${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`
    calls.push(key)
    if (!(key in routes)) return new Response(JSON.stringify({ error: 'not_found' }), { status: 404 })
    return new Response(JSON.stringify(routes[key]), { status: 200 })
  })
  return { db: new DatabaseClient({ baseUrl: 'http://db.test', fetch: fetchMock }), calls }
}

function message(text: string): TgMessage {
  return { message_id: 1, chat: { id: 42 }, from: { id: 42, is_bot: false, first_name: 'Alice' }, text }
}

describe('handleMessage', () => {
  it('registers a new customer on /start', async () => {
    const { db, calls } = fakeService({ 'POST /users': customer })
    expect(await handleMessage(db, message('/start'))).toContain('Hi Alice')
    expect(calls).toEqual(['GET /users/by-telegram/42', 'POST /users'])
  })

  it('places an order with /buy', async () => {
    const { db, calls } = fakeService({
      'GET /users/by-telegram/42': customer,
      'GET /products': [tea],
      'POST /orders': { id: 'o1', total_cents: 900, currency: 'EUR', items: [] },
    })
    expect(await handleMessage(db, message('/buy tea-001 2'))).toBe('Order placed: 2 × Green tea, total 9.00 EUR.')
    expect(calls.at(-1)).toBe('POST /orders')
  })

  it('stores a shared phone number', async () => {
    const { db, calls } = fakeService({ 'GET /users/by-telegram/42': customer, 'PATCH /users/u1': customer })
    const reply = await handleMessage(db, { ...message(''), contact: { phone_number: '4915112345678' } })
    expect(reply).toContain('Thanks')
    expect(calls).toContain('PATCH /users/u1')
  })

  it('lists orders', async () => {
    const { db } = fakeService({
      'GET /users/by-telegram/42': customer,
      'GET /users/u1/orders': [{ id: 'o1', created_at: '2024-02-02T08:00:00Z', total_cents: 450, currency: 'EUR', status: 'paid' }],
    })
    expect(await handleMessage(db, message('/orders'))).toBe('2024-02-02 · 4.50 EUR · paid')
  })
})
