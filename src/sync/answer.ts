import { toJsonApi } from '../errors';
import type { SyncOutcome } from './service';

/**
 * An answer before it is sent: what the sync route sends, an idempotency key stores and an async job keeps as its
 * result. A value, so that the job runner (which has no HTTP request) answers exactly as the route would.
 */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

/** A sync's outcome as the route answers it. */
export function syncAnswer(outcome: SyncOutcome): Answer {
  const { result, errors, partial, indexing } = outcome;
  const headers: Record<string, string> = {
    'x-indexing': indexing,
    ...(result.minimal ? { 'preference-applied': 'return=minimal' } : {}),
    ...(outcome.indexingSkipIgnored.length ? { 'x-indexing-skip-ignored': outcome.indexingSkipIgnored.join(', ') } : {}),
  };
  if (!partial) return { status: 200, headers, body: result.toJSON() };
  // Partial success is still 200, but never mistakable for a full one: the header counts what was rolled back.
  return {
    status: 200,
    headers: { ...headers, 'x-sync-errors': String(errors.length) },
    body: { ...result.toJSON(), errors: errors.map(toJsonApi) },
  };
}
