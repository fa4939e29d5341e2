import { toJsonApi } from '../errors';
import type { SyncOutcome } from './service';
import type { PreviewOutcome } from './preview-types';

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
  const applied = [...(result.minimal ? ['return=minimal'] : []), ...(outcome.preview ? ['return=representation'] : [])];
  const headers: Record<string, string> = {
    'x-indexing': indexing,
    ...(applied.length ? { 'preference-applied': applied.join(', ') } : {}),
    ...(outcome.indexingSkipIgnored.length ? { 'x-indexing-skip-ignored': outcome.indexingSkipIgnored.join(', ') } : {}),
  };
  const body = { ...result.toJSON(), ...previewBody(outcome.preview) };
  if (!partial) return { status: 200, headers, body };
  // Partial success is still 200, but never mistakable for a full one: the header counts what was rolled back.
  return {
    status: 200,
    headers: { ...headers, 'x-sync-errors': String(errors.length) },
    body: { ...body, errors: errors.map(toJsonApi) },
  };
}

/** A preview beside the usual answer: the summary always, the per-record list when it was kept (not spooled). */
function previewBody(preview: PreviewOutcome | undefined): Record<string, unknown> {
  if (!preview) return {};
  return { changes: preview.changes, ...(preview.records ? { records: preview.records, recordsOmitted: preview.omitted } : {}) };
}
