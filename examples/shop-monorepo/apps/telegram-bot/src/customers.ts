import type { DatabaseClient, User } from '@shop/database-client'
import type { TgUser } from './telegram'

/** The shop account of a Telegram user, created on first contact. */
export async function ensureCustomer(db: DatabaseClient, from: TgUser): Promise<User> {
  const existing = await db.getUserByTelegramId(from.id)
  if (existing) return existing
  return db.createUser({
    telegram_id: from.id,
    first_name: from.first_name,
    last_name: from.last_name ?? null,
    username: from.username ?? null,
    language_code: from.language_code ?? 'en',
  })
}
