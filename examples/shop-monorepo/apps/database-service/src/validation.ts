import { Constants } from './database.types'
import type { NewProduct, NewUser, OrderStatus, UserPatch } from './repositories'

/** The request body does not have the expected shape; answered with 400. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError'
}

const PHONE = /^\+[1-9][0-9]{6,14}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

type Body = Record<string, unknown>

function object(value: unknown): Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError('expected a JSON object')
  }
  return value as Body
}

function str(body: Body, key: string): string {
  const value = body[key]
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`${key} must be a non-empty string`)
  return value
}

function optStr(body: Body, key: string): string | null | undefined {
  const value = body[key]
  if (value === undefined || value === null) return value
  if (typeof value !== 'string') throw new ValidationError(`${key} must be a string or null`)
  return value
}

function int(body: Body, key: string, min = 0): number {
  const value = body[key]
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(`${key} must be an integer >= ${min}`)
  }
  return value
}

function phone(body: Body): string | null | undefined {
  const value = optStr(body, 'phone')
  if (typeof value === 'string' && !PHONE.test(value)) {
    throw new ValidationError('phone must be in international format, e.g. +4915112345678')
  }
  return value
}

export function isUuid(value: string): boolean {
  return UUID.test(value)
}

export function parseNewUser(value: unknown): NewUser {
  const body = object(value)
  return {
    telegram_id: int(body, 'telegram_id', 1),
    first_name: str(body, 'first_name'),
    last_name: optStr(body, 'last_name'),
    username: optStr(body, 'username'),
    language_code: optStr(body, 'language_code') ?? undefined,
    phone: phone(body),
  }
}

export function parseUserPatch(value: unknown): UserPatch {
  const body = object(value)
  const patch: UserPatch = {}
  if ('first_name' in body) patch.first_name = str(body, 'first_name')
  if ('last_name' in body) patch.last_name = optStr(body, 'last_name')
  if ('username' in body) patch.username = optStr(body, 'username')
  if ('language_code' in body) patch.language_code = str(body, 'language_code')
  if ('phone' in body) patch.phone = phone(body)
  if ('auth_user_id' in body) {
    const authUserId = optStr(body, 'auth_user_id')
    if (typeof authUserId === 'string' && !isUuid(authUserId)) throw new ValidationError('auth_user_id must be a UUID')
    patch.auth_user_id = authUserId
  }
  if (Object.keys(patch).length === 0) throw new ValidationError('nothing to update')
  return patch
}

export function parseNewProduct(value: unknown): NewProduct {
  const body = object(value)
  const currency = optStr(body, 'currency') ?? undefined
  if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) throw new ValidationError('currency must be an ISO 4217 code')
  const attributes = body.attributes
  if (attributes !== undefined && (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))) {
    throw new ValidationError('attributes must be an object')
  }
  return {
    sku: str(body, 'sku'),
    title: str(body, 'title'),
    description: optStr(body, 'description'),
    price_cents: int(body, 'price_cents'),
    currency,
    stock: body.stock === undefined ? undefined : int(body, 'stock'),
    is_active: typeof body.is_active === 'boolean' ? body.is_active : undefined,
    attributes: attributes as NewProduct['attributes'],
  }
}

export type OrderRequest = {
  user_id: string
  note?: string | null
  items: { product_id: string; quantity: number }[]
}

export function parseOrderRequest(value: unknown): OrderRequest {
  const body = object(value)
  const userId = str(body, 'user_id')
  if (!isUuid(userId)) throw new ValidationError('user_id must be a UUID')
  if (!Array.isArray(body.items) || body.items.length === 0) throw new ValidationError('items must be a non-empty array')
  const items = body.items.map((raw) => {
    const item = object(raw)
    const productId = str(item, 'product_id')
    if (!isUuid(productId)) throw new ValidationError('product_id must be a UUID')
    return { product_id: productId, quantity: int(item, 'quantity', 1) }
  })
  return { user_id: userId, note: optStr(body, 'note'), items }
}

export function parseOrderStatus(value: unknown): OrderStatus {
  const status = object(value).status
  const allowed: readonly string[] = Constants.public.Enums.order_status
  if (typeof status !== 'string' || !allowed.includes(status)) {
    throw new ValidationError(`status must be one of ${allowed.join(', ')}`)
  }
  return status as OrderStatus
}
