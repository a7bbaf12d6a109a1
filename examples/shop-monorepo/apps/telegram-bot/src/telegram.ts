/** The few parts of the Telegram Bot API the bot uses (https://core.telegram.org/bots/api). */

export interface TgUser {
  id: number
  is_bot: boolean
  first_name: string
  last_name?: string
  username?: string
  language_code?: string
}

export interface TgContact {
  phone_number: string
  user_id?: number
}

export interface TgMessage {
  message_id: number
  chat: { id: number }
  from?: TgUser
  text?: string
  contact?: TgContact
}

export interface TgUpdate {
  update_id: number
  message?: TgMessage
}

export class TelegramApi {
  constructor(
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = globalThis.fetch.bind(globalThis),
  ) {}

  async getUpdates(offset: number, timeoutSeconds = 30): Promise<TgUpdate[]> {
    return this.call('getUpdates', { offset, timeout: timeoutSeconds, allowed_updates: ['message'] })
  }

  async sendMessage(chatId: number, text: string): Promise<void> {
    await this.call('sendMessage', { chat_id: chatId, text, parse_mode: 'HTML' })
  }

  private async call<T>(method: string, params: Record<string, unknown>): Promise<T> {
    const res = await this.fetchImpl(`https://api.telegram.org/bot${this.token}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    })
    const payload = (await res.json()) as { ok: boolean; result: T; description?: string }
    if (!payload.ok) throw new Error(`Telegram ${method} failed: ${payload.description ?? res.status}`)
    return payload.result
  }
}
