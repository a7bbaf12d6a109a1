import { DatabaseClient } from '@shop/database-client'

export interface WebConfig {
  databaseServiceUrl: string
  databaseServiceToken?: string
}

/** The web app's only way to the data: the Database Service client. */
export function createDatabaseClient(config: WebConfig): DatabaseClient {
  return new DatabaseClient({ baseUrl: config.databaseServiceUrl, token: config.databaseServiceToken })
}
