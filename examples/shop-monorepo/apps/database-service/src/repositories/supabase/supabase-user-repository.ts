import type { Database } from '../../database.types'
import { toRepositoryError } from '../errors'
import type { NewUser, User, UserPatch } from '../types'
import type { UserRepository } from '../user-repository'
import type { Db } from './client'

type UserRow = Database['public']['Tables']['users']['Row']

export class SupabaseUserRepository implements UserRepository {
  constructor(private readonly db: Db) {}

  async findById(id: string): Promise<User | null> {
    const { data, error } = await this.db
      .from('users')
      .select(
        'id, auth_user_id, telegram_id, username, first_name, last_name, language_code, phone, created_at, updated_at',
      )
      .eq('id', id)
      .maybeSingle()
    if (error) throw toRepositoryError(error)
    return data satisfies UserRow | null
  }

  async findByTelegramId(telegramId: number): Promise<User | null> {
    const { data, error } = await this.db
      .from('users')
      .select(
        'id, auth_user_id, telegram_id, username, first_name, last_name, language_code, phone, created_at, updated_at',
      )
      .eq('telegram_id', telegramId)
      .maybeSingle()
    if (error) throw toRepositoryError(error)
    return data
  }

  async create(input: NewUser): Promise<User> {
    const { data, error } = await this.db
      .from('users')
      .insert({
        telegram_id: input.telegram_id,
        username: input.username ?? null,
        first_name: input.first_name,
        last_name: input.last_name ?? null,
        language_code: input.language_code ?? 'en',
        phone: input.phone ?? null,
      })
      .select(
        'id, auth_user_id, telegram_id, username, first_name, last_name, language_code, phone, created_at, updated_at',
      )
      .single()
    if (error) throw toRepositoryError(error)
    return data
  }

  async update(id: string, patch: UserPatch): Promise<User | null> {
    const { data, error } = await this.db
      .from('users')
      .update({
        auth_user_id: patch.auth_user_id,
        username: patch.username,
        first_name: patch.first_name,
        last_name: patch.last_name,
        language_code: patch.language_code,
        phone: patch.phone,
      })
      .eq('id', id)
      .select(
        'id, auth_user_id, telegram_id, username, first_name, last_name, language_code, phone, created_at, updated_at',
      )
      .maybeSingle()
    if (error) throw toRepositoryError(error)
    return data
  }
}
