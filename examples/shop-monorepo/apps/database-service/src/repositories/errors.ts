/** A unique constraint would be violated (PostgreSQL 23505). */
export class ConflictError extends Error {
  override readonly name = 'ConflictError'
}

/** A row referenced by the input does not exist (PostgreSQL 23503). */
export class ForeignKeyError extends Error {
  override readonly name = 'ForeignKeyError'
}

/** Any other failure of the storage layer. */
export class RepositoryError extends Error {
  override readonly name = 'RepositoryError'

  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

/** Map a PostgREST error to the repository error callers handle. */
export function toRepositoryError(error: { message: string; code?: string }): Error {
  if (error.code === '23505') return new ConflictError(error.message)
  if (error.code === '23503') return new ForeignKeyError(error.message)
  return new RepositoryError(error.message, error.code)
}
