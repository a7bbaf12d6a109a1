import { ConflictError } from '../errors'
import type { NewUser, User, UserPatch } from '../types'
import type { UserRepository } from '../user-repository'

/** In-memory users for tests and local development; enforces the same unique keys as the table. */
export class MemoryUserRepository implements UserRepository {
  private readonly rows = new Map<string, User>()

  constructor(seed: User[] = []) {
    for (const user of seed) this.rows.set(user.id, { ...user })
  }

  async create(input: NewUser): Promise<User> {
    for (const existing of this.rows.values()) {
      if (existing.telegram_id === input.telegram_id) {
        throw new ConflictError(`telegram_id ${input.telegram_id} is already registered`)
      }
    }
    const now = new Date().toISOString()
    const user: User = {
      id: crypto.randomUUID(),
      auth_user_id: null,
      telegram_id: input.telegram_id,
      username: input.username ?? null,
      first_name: input.first_name,
      last_name: input.last_name ?? null,
      language_code: input.language_code ?? 'en',
      phone: input.phone ?? null,
      created_at: now,
      updated_at: now,
    }
    this.rows.set(user.id, user)
    return { ...user }
  }

  async update(id: string, patch: UserPatch): Promise<User | null> {
    const current = this.rows.get(id)
    if (!current) return null
    const next: User = {
      ...current,
      auth_user_id: patch.auth_user_id !== undefined ? patch.auth_user_id : current.auth_user_id,
      username: patch.username !== undefined ? patch.username : current.username,
      first_name: patch.first_name ?? current.first_name,
      last_name: patch.last_name !== undefined ? patch.last_name : current.last_name,
      language_code: patch.language_code ?? current.language_code,
      phone: patch.phone !== undefined ? patch.phone : current.phone,
      updated_at: new Date().toISOString(),
    }
    this.rows.set(id, next)
    return { ...next }
  }

  async findByTelegramId(telegramId: number): Promise<User | null> {
    for (const user of this.rows.values()) {
      if (user.telegram_id === telegramId) return { ...user }
    }
    return null
  }

  async findById(id: string): Promise<User | null> {
    const user = this.rows.get(id)
    return user ? { ...user } : null
  }
}
