import { DatabaseClient as ShopDatabase, type Product } from '@shop/database-client'

export function formatPrice(cents: number, currency: string): string {
  return `${(cents / 100).toFixed(2)} ${currency}`
}

export function formatProduct(product: Product): string {
  const stock = product.stock > 0 ? '' : ' (out of stock)'
  return `<b>${product.title}</b> — ${formatPrice(product.price_cents, product.currency)}${stock}\n/buy ${product.sku}`
}

/** The /catalog answer. */
export async function catalogMessage(db: ShopDatabase): Promise<string> {
  const products = await db.listProducts()
  if (products.length === 0) return 'The shop is empty right now. Come back soon!'
  return products.map(formatProduct).join('\n\n')
}

export async function findBySku(db: ShopDatabase, sku: string): Promise<Product | undefined> {
  const products = await db.listProducts()
  return products.find((product) => product.sku.toLowerCase() === sku.toLowerCase())
}
