import { Hono } from 'hono'
import type { AppEnv } from '../env'
import { parseNewUser, parseUserPatch } from '../validation'

export const users = new Hono<AppEnv>()

users.get('/by-telegram/:telegramId', async (c) => {
  const telegramId = Number(c.req.param('telegramId'))
  if (!Number.isSafeInteger(telegramId)) return c.json({ error: 'invalid_telegram_id' }, 400)
  const user = await c.var.repos.users.findByTelegramId(telegramId)
  if (!user) return c.json({ error: 'user_not_found' }, 404)
  return c.json(user)
})

users.get('/:id', async (c) => {
  const user = await c.var.repos.users.findById(c.req.param('id'))
  if (!user) return c.json({ error: 'user_not_found' }, 404)
  return c.json(user)
})

users.post('/', async (c) => {
  const input = parseNewUser(await c.req.json())
  const user = await c.var.repos.users.create(input)
  return c.json(user, 201)
})

users.patch('/:id', async (c) => {
  const patch = parseUserPatch(await c.req.json())
  const user = await c.var.repos.users.update(c.req.param('id'), patch)
  if (!user) return c.json({ error: 'user_not_found' }, 404)
  return c.json(user)
})

users.get('/:id/orders', async (c) => {
  const { repos } = c.var
  const user = await repos.users.findById(c.req.param('id'))
  if (!user) return c.json({ error: 'user_not_found' }, 404)
  return c.json(await repos.orders.listByUser(user.id))
})
