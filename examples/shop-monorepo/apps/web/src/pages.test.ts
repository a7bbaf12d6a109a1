import type { Order, Product } from '@shop/database-client'
import { describe, expect, it } from 'vitest'
import { escapeHtml } from './html'
import { renderCatalog, renderOrder } from './pages'

const product: Product = {
  id: 'p1',
  sku: 'TEA-001',
  title: 'Green <tea>',
  description: 'Sencha',
  price_cents: 450,
  currency: 'EUR',
  stock: 3,
  is_active: true,
  attributes: {},
  created_at: '2024-01-15T09:45:00Z',
  updated_at: '2024-01-15T09:45:00Z',
}

describe('pages', () => {
  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;')
  })

  it('renders the catalog with prices', () => {
    const html = renderCatalog([product])
    expect(html).toContain('data-sku="TEA-001"')
    expect(html).toContain('Green &lt;tea&gt;')
    expect(html).toContain('€4.50')
  })

  it('renders an order', () => {
    const order: Order = {
      id: 'o1',
      user_id: 'u1',
      status: 'paid',
      total_cents: 900,
      currency: 'EUR',
      note: null,
      created_at: '2024-02-02T08:00:00Z',
      updated_at: '2024-02-02T08:00:00Z',
    }
    const item = { id: 'i1', order_id: 'o1', product_id: 'p1', quantity: 2, unit_price_cents: 450, created_at: order.created_at }
    const html = renderOrder(order, [{ ...item, title: 'Green tea' }])
    expect(html).toContain('data-status="paid"')
    expect(html).toContain('Total: €9.00')
  })
})
