import { ApiError, showValue } from '../errors';

type Headers = Record<string, string | string[] | undefined>;

function one(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** `dry-run`: true or false (absent: false); another value is HEADER_INVALID. */
export function parseDryRun(headers: Headers): boolean {
  const raw = one(headers, 'dry-run');
  if (raw === undefined) return false;
  const v = raw.trim().toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new ApiError({ code: 'HEADER_INVALID', detail: `dry-run must be "true" or "false", got ${showValue(raw)}`, meta: { header: 'dry-run' } });
}

/** Stripe's bound: 1 to 255 visible ASCII characters. */
const KEY = /^[\x21-\x7e]{1,255}$/;

/** `Idempotency-Key`, or undefined when absent; an empty, over-long or non-ASCII key is HEADER_INVALID. */
export function parseIdempotencyKey(headers: Headers): string | undefined {
  const raw = one(headers, 'idempotency-key');
  if (raw === undefined) return undefined;
  if (!KEY.test(raw)) {
    throw new ApiError({
      code: 'HEADER_INVALID',
      detail: `Idempotency-Key must be 1 to 255 visible ASCII characters, got ${raw.length ? `${raw.length} characters` : 'an empty value'}`,
      meta: { header: 'Idempotency-Key' },
    });
  }
  return raw;
}

/** The preferences of RFC 7240's `Prefer` (names only, lowercased): `respond-async`, `return=minimal`, … */
export function preferences(headers: Headers): Set<string> {
  const raw = one(headers, 'prefer') ?? '';
  return new Set(
    raw
      .split(',')
      .map((p) => p.split(';')[0]!.trim().toLowerCase().replace(/\s*=\s*/, '='))
      .filter(Boolean),
  );
}

/**
 * The headers that change what a sync request means: they are part of an idempotency key's fingerprint and are
 * what a job keeps of its request (never Authorization or anything else).
 */
export const MEANINGFUL_HEADERS = ['content-type', 'fail-on-error', 'indexing-behavior', 'indexing-skip', 'sw-skip-trigger-flow', 'dry-run', 'prefer'] as const;

export function meaningfulHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of MEANINGFUL_HEADERS) {
    const v = one(headers, name);
    if (v !== undefined) out[name] = v.trim();
  }
  return out;
}
