import { expect } from 'vitest'
import { SourceError, type SourceErrorCode } from '../../../lib/sources/source-error.ts'

/** The error `run` throws (failing the test when it throws nothing). */
export function thrownBy(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  return expect.unreachable('expected an error to be thrown')
}

/** Asserts that `run` throws a SourceError with `code` and returns it for further checks. */
export function expectSourceError(run: () => unknown, code: SourceErrorCode): SourceError {
  const error = thrownBy(run)
  expect(error).toBeInstanceOf(SourceError)
  expect((error as SourceError).code).toBe(code)
  return error as SourceError
}

/** Same as expectSourceError for async work. */
export async function expectSourceRejection(work: Promise<unknown>, code: SourceErrorCode): Promise<SourceError> {
  const error = await work.then(
    () => expect.unreachable('expected a rejection'),
    (reason: unknown) => reason,
  )
  expect(error).toBeInstanceOf(SourceError)
  expect((error as SourceError).code).toBe(code)
  return error as SourceError
}
