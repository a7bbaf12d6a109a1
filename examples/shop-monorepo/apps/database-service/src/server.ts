import { serve } from '@hono/node-server'
import { createApp } from './index'
import { createSupabaseRepositories } from './repositories'
import { createDatabase } from './repositories/supabase/client'

function requireEnv(name: string): string {
  const value = process.env[name]
  if (!value) throw new Error(`environment variable ${name} is required`)
  return value
}

const db = createDatabase(requireEnv('SUPABASE_URL'), requireEnv('SUPABASE_SERVICE_ROLE_KEY'))
const app = createApp(createSupabaseRepositories(db), { serviceToken: process.env.SERVICE_TOKEN })
const port = Number(process.env.PORT ?? 8787)

serve({ fetch: app.fetch, port }, (info) => {
  console.log(`database-service listening on http://localhost:${info.port}`)
})
