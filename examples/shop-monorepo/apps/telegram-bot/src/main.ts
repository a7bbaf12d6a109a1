import { DatabaseClient } from '@shop/database-client'
import { handleMessage } from './handlers'
import { TelegramApi } from './telegram'

function requireEnv(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`environment variable ${name} is required`)
  return value
}

async function main(): Promise<void> {
  const db = new DatabaseClient({
    baseUrl: requireEnv('DATABASE_SERVICE_URL'),
    token: process.env.DATABASE_SERVICE_TOKEN,
  })
  const telegram = new TelegramApi(requireEnv('TELEGRAM_BOT_TOKEN'))
  await db.health()

  let offset = 0
  for (;;) {
    const updates = await telegram.getUpdates(offset)
    for (const update of updates) {
      offset = update.update_id + 1
      if (!update.message) continue
      try {
        const reply = await handleMessage(db, update.message)
        if (reply) await telegram.sendMessage(update.message.chat.id, reply)
      } catch (error) {
        console.error('failed to handle update', update.update_id, error)
        await telegram.sendMessage(update.message.chat.id, 'Something went wrong, please try again.')
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
