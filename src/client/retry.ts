/** How requests are retried: statuses that mean "try again later", network errors, exponential backoff. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** First wait; each next one doubles (with jitter), capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 500, maxDelayMs: 30_000 };

/** 429 (rate limited), 503 (conflict retries exhausted, database unavailable), and gateways that lost the service. */
export const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** Seconds or an HTTP date, as RFC 9110 allows; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The wait before attempt `attempt + 1` (attempt counts from 1): Retry-After when given, else backoff with jitter. */
export function backoffMs(policy: RetryPolicy, attempt: number, retryAfter?: number): number {
  if (retryAfter !== undefined) return Math.min(retryAfter, policy.maxDelayMs * 4);
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Full jitter on the upper half: clients that failed together do not come back together.
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
