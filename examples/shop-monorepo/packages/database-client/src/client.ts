import type {
  CreateOrderInput,
  CreateProductInput,
  CreateUserInput,
  Health,
  Order,
  OrderItem,
  OrderStatus,
  OrderWithItems,
  Product,
  UpdateUserInput,
  User,
} from './types'

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE'

export interface DatabaseClientOptions {
  /** e.g. `http://database-service:8787` */
  baseUrl: string
  /** Service token sent as `Authorization: Bearer ...`. */
  token?: string
  /** Injected in tests; defaults to the global fetch. */
  fetch?: typeof fetch
}

/** A non-2xx answer of the Database Service. */
export class DatabaseClientError extends Error {
  override readonly name = 'DatabaseClientError'

  constructor(
    readonly status: number,
    readonly method: HttpMethod,
    readonly path: string,
    readonly body: unknown,
  ) {
    super(`${method} ${path} failed with ${status}`)
  }
}

const USERS = '/users'

/**
 * Typed client of the Database Service. Every endpoint of the service has exactly one
 * method here; consumers never build URLs themselves.
 */
export class DatabaseClient {
  private readonly baseUrl: string
  private readonly fetchImpl: typeof fetch

  constructor(private readonly options: DatabaseClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis)
  }

  // ------------------------------------------------------------------ service

  health(): Promise<Health> {
    return this.request('GET', '/health')
  }

  // ------------------------------------------------------------------ users

  getUser(id: string): Promise<User | null> {
    return this.orNull(this.request<User>('GET', `/users/${id}`))
  }

  getUserByTelegramId(telegramId: number): Promise<User | null> {
    return this.orNull(this.request<User>('GET', `${USERS}/by-telegram/${telegramId}`))
  }

  createUser(input: CreateUserInput): Promise<User> {
    return this.request('POST', USERS, input)
  }

  updateUser(id: string, patch: UpdateUserInput): Promise<User> {
    return this.request('PATCH', '/users/' + id, patch)
  }

  listUserOrders(userId: string): Promise<Order[]> {
    return this.request('GET', `${USERS}/${userId}/orders`)
  }

  // ------------------------------------------------------------------ products

  listProducts(): Promise<Product[]> {
    return this.request('GET', '/products')
  }

  getProduct(id: string): Promise<Product | null> {
    return this.orNull(this.request<Product>('GET', `/products/${id}`))
  }

  createProduct(input: CreateProductInput): Promise<Product> {
    return this.request('POST', '/products', input)
  }

  // ------------------------------------------------------------------ orders

  createOrder(input: CreateOrderInput): Promise<OrderWithItems> {
    return this.request('POST', '/orders', input)
  }

  getOrder(id: string): Promise<Order | null> {
    return this.orNull(this.request<Order>('GET', `/orders/${encodeURIComponent(id)}`))
  }

  updateOrderStatus(id: string, status: OrderStatus): Promise<Order> {
    return this.request('PATCH', `/orders/${id}/status`, { status })
  }

  listOrderItems(orderId: string): Promise<OrderItem[]> {
    return this.request('GET', `/orders/${orderId}/items`)
  }

  // ------------------------------------------------------------------ transport

  private async request<T>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`

    const res = await this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    const payload: unknown = text ? JSON.parse(text) : undefined
    if (!res.ok) throw new DatabaseClientError(res.status, method, path, payload)
    return payload as T
  }

  private async orNull<T>(pending: Promise<T>): Promise<T | null> {
    try {
      return await pending
    } catch (error) {
      if (error instanceof DatabaseClientError && error.status === 404) return null
      throw error
    }
  }
}
