import type { Response } from 'express';
import { toJsonApi, type Problem } from '../errors';
import type { SyncOutcome } from '../sync/service';

/** An answer before it is sent: what the sync route sends, an idempotency key stores and a job keeps. */
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

/** Problems as the error handler renders them (src/http/errors.ts). */
export function problemAnswer(status: number, problems: readonly Problem[]): Answer {
  return { status, headers: { 'content-type': 'application/vnd.api+json; charset=utf-8' }, body: { errors: problems.map(toJsonApi) } };
}

export function sendAnswer(res: Response, answer: Answer): void {
  res.status(answer.status);
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  if (answer.headers['content-type']) res.send(Buffer.from(JSON.stringify(answer.body)));
  else res.json(answer.body);
}
