import type { IncomingHttpHeaders } from 'node:http';
import { showValue, type Problem } from '../errors';
import { parseIndexingHeaders } from '../indexing/behavior';
import type { IndexerSet } from '../indexing/registry';
import type { ExecutionOptions } from '../sync/executor';

/** A boolean header: true/1, false/0 (any case), or absent (the default). */
function flag(headers: IncomingHttpHeaders, name: string, fallback: boolean, problems: Problem[]): boolean {
  const raw = headers[name];
  if (raw === undefined) return fallback;
  const v = String(raw).trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  problems.push({ code: 'HEADER_INVALID', detail: `${name} must be "true" or "false", got ${showValue(raw)}`, pointer: '' });
  return fallback;
}

/** RFC 7240 preferences: `Prefer: return=minimal, respond-async` → their names and values (lower case). */
export function preferences(headers: IncomingHttpHeaders): Map<string, string> {
  const out = new Map<string, string>();
  const raw = headers.prefer;
  for (const part of (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).split(',')) {
    const [name, value] = part.split(';')[0]!.split('=').map((s) => s.trim().toLowerCase().replace(/^"|"$/g, ''));
    if (name) out.set(name, value ?? '');
  }
  return out;
}

/** The sync request's headers → the core's typed options, or HEADER_INVALID problems. */
export function syncOptions(headers: IncomingHttpHeaders, indexers: IndexerSet): { ok: true; options: ExecutionOptions } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const failOnError = flag(headers, 'fail-on-error', true, problems);
  const indexing = parseIndexingHeaders(headers, indexers);
  if (!indexing.ok) problems.push(...indexing.problems);
  // Shopware's switch for its flows: here it means "emit no events (webhooks) for this request". Lenient, as before:
  // anything but 1/true leaves events on.
  const skip = headers['sw-skip-trigger-flow'];
  const skipEvents = skip !== undefined && ['1', 'true'].includes(String(skip).trim().toLowerCase());
  const minimal = preferences(headers).get('return') === 'minimal';
  if (problems.length || !indexing.ok) return { ok: false, problems };
  return { ok: true, options: { failOnError, indexing: indexing.value, skipEvents, minimal } };
}
