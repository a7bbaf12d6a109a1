export { DatabaseClient, DatabaseClientError } from './client'
export type { DatabaseClientOptions, HttpMethod } from './client'
export type * from './types'
