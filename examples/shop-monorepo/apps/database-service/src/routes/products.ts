import { Hono } from 'hono'
import type { AppEnv } from '../env'
import { parseNewProduct } from '../validation'

export const products = new Hono<AppEnv>()
  .get('/', async (c) => {
    return c.json(await c.var.repos.products.listActive())
  })
  .get('/:id', async (c) => {
    const product = await c.var.repos.products.findById(c.req.param('id'))
    if (!product) return c.json({ error: 'product_not_found' }, 404)
    return c.json(product)
  })
  .post('/', async (c) => {
    const product = await c.var.repos.products.create(parseNewProduct(await c.req.json()))
    return c.json(product, 201)
  })
