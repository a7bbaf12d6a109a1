import { createApp } from '../index'
import { createMemoryRepositories, type Product } from '../repositories'

export const TOKEN = 'test-service-token'

export function product(overrides: Partial<Product> = {}): Product {
  const now = '2024-01-15T09:45:00.000Z'
  return {
    id: crypto.randomUUID(),
    sku: 'TEA-001',
    title: 'Green tea',
    description: null,
    price_cents: 450,
    currency: 'EUR',
    stock: 10,
    is_active: true,
    attributes: {},
    created_at: now,
    updated_at: now,
    ...overrides,
  }
}

export function setup(seed: { products?: Product[] } = {}) {
  const repos = createMemoryRepositories(seed)
  const app = createApp(repos, { serviceToken: TOKEN })
  const call = (method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  return { app, repos, call }
}
