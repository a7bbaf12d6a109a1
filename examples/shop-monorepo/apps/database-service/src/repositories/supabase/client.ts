import { createClient, type SupabaseClient } from '@supabase/supabase-js'
import type { Database } from '../../database.types'

export type Db = SupabaseClient<Database>

/** A server-side Supabase client (service role: RLS does not apply, never ship it to a browser). */
export function createDatabase(url: string, serviceRoleKey: string): Db {
  return createClient<Database>(url, serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false },
  })
}
