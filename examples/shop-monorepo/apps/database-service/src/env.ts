import type { Repositories } from './repositories'

/** Hono environment of the Database Service: the repositories travel in the context. */
export type AppEnv = {
  Variables: {
    repos: Repositories
  }
}
