import { describe, expect, it } from 'vitest'
import { setup } from './helpers'

const alice = { telegram_id: 100200300, first_name: 'Alice', username: 'alice', language_code: 'de' }

describe('users routes', () => {
  it('creates a user and reads it back by id and by Telegram id', async () => {
    const { call } = setup()
    const created = await call('POST', '/users', alice)
    expect(created.status).toBe(201)
    const user = await created.json()
    expect(user).toMatchObject({ ...alice, last_name: null, phone: null, auth_user_id: null })

    const byId = await call('GET', `/users/${user.id}`)
    expect(byId.status).toBe(200)
    expect(await byId.json()).toEqual(user)

    const byTelegram = await call('GET', '/users/by-telegram/100200300')
    expect(await byTelegram.json()).toEqual(user)
  })

  it('answers 404 for unknown users and 409 for a second account of the same Telegram user', async () => {
    const { call } = setup()
    expect((await call('GET', `/users/${crypto.randomUUID()}`)).status).toBe(404)
    expect((await call('GET', '/users/by-telegram/42')).status).toBe(404)
    await call('POST', '/users', alice)
    expect((await call('POST', '/users', alice)).status).toBe(409)
  })

  it('updates the phone number and rejects a malformed one', async () => {
    const { call } = setup()
    const user = await (await call('POST', '/users', alice)).json()
    const ok = await call('PATCH', `/users/${user.id}`, { phone: '+4915112345678' })
    expect(ok.status).toBe(200)
    expect((await ok.json()).phone).toBe('+4915112345678')

    const bad = await call('PATCH', `/users/${user.id}`, { phone: '0151 123' })
    expect(bad.status).toBe(400)
    expect((await bad.json()).error).toBe('invalid_request')
  })

  it('rejects invalid bodies', async () => {
    const { call } = setup()
    expect((await call('POST', '/users', { first_name: 'NoId' })).status).toBe(400)
    expect((await call('PATCH', `/users/${crypto.randomUUID()}`, {})).status).toBe(400)
  })

  it('needs the service token, except for /health', async () => {
    const { app } = setup()
    expect((await app.request('/users/by-telegram/1')).status).toBe(401)
    expect((await app.request('/health')).status).toBe(200)
  })
})
