import type { NewUser, User, UserPatch } from './types'

/** Shop customers (`public.users`), keyed by their Telegram account. */
export interface UserRepository {
  findById(id: string): Promise<User | null>
  findByTelegramId(telegramId: number): Promise<User | null>
  create(input: NewUser): Promise<User>
  update(id: string, patch: UserPatch): Promise<User | null>
}
