import { Hono } from 'hono'
import { bearerAuth } from 'hono/bearer-auth'
import { HTTPException } from 'hono/http-exception'
import type { AppEnv } from './env'
import type { Repositories } from './repositories'
import { ConflictError, ForeignKeyError } from './repositories/errors'
import { orders } from './routes/orders'
import { products } from './routes/products'
import { users } from './routes/users'
import { ValidationError } from './validation'

export interface AppOptions {
  /** When set, every route but /health needs `Authorization: Bearer <serviceToken>`. */
  serviceToken?: string
}

export function createApp(repos: Repositories, options: AppOptions = {}) {
  const app = new Hono<AppEnv>()

  app.get('/health', (c) => c.json({ status: 'ok' }))

  if (options.serviceToken) {
    app.use('*', bearerAuth({ token: options.serviceToken }))
  }
  app.use('*', async (c, next) => {
    c.set('repos', repos)
    await next()
  })

  app.route('/users', users)
  app.route('/products', products)
  app.route('/orders', orders)

  app.notFound((c) => c.json({ error: 'not_found' }, 404))
  app.onError((err, c) => {
    if (err instanceof ValidationError) return c.json({ error: 'invalid_request', message: err.message }, 400)
    if (err instanceof SyntaxError) return c.json({ error: 'invalid_json' }, 400)
    if (err instanceof ConflictError) return c.json({ error: 'conflict', message: err.message }, 409)
    if (err instanceof ForeignKeyError) return c.json({ error: 'unknown_reference', message: err.message }, 422)
    if (err instanceof HTTPException) return err.getResponse()
    console.error(err)
    return c.json({ error: 'internal_error' }, 500)
  })

  return app
}

export type App = ReturnType<typeof createApp>
