import type { Problem } from '../../errors';

/**
 * What the streaming readers make of a body, in order. Both body formats (Shopware's JSON shapes and NDJSON) come
 * out as the same events, so that everything after the reader is one pipeline.
 */
export type BodyEvent =
  /** An operation starts: `key` from the keyed-object form, else undefined (list form, NDJSON header). */
  | { type: 'operation'; key: string | undefined; position: number; line?: number; notAnObject?: boolean }
  /** One property of the operation other than its payload (entity, action, mode, …, key in the list form). */
  | { type: 'property'; name: string; value: unknown; line?: number }
  /** The operation's payload list starts (JSON); NDJSON operations always have one (their record lines). */
  | { type: 'payload'; line?: number }
  /** One payload item: a record of an upsert, a key of a delete. */
  | { type: 'record'; value: unknown; line?: number }
  | { type: 'end' }
  /**
   * The body cannot be read on from here (JSON syntax, a byte limit): `fatal`. An NDJSON line that is not JSON or a
   * record before any header is not fatal: the lines after it are still read and checked.
   */
  | { type: 'invalid'; problem: Problem; fatal: boolean };

/** How a byte source says its bytes cannot be read on (over the size limit, corrupt compression): a problem. */
export class BodyReadError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}
