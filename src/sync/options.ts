import { showValue, type Problem } from '../errors';
import { LANGUAGE_HEADER } from '../definitions/translations';
import { parseIndexingMode, parseIndexingSkip, type IndexingRequest } from '../indexing/behavior';
import type { IndexerSet } from '../indexing/registry';
import type { BodyFormat } from './body/read';
import type { ExecutionOptions } from './commit/executor';

/**
 * THE table of the sync route's headers. Each header is declared once: how it is parsed into a typed option, whether
 * an async job keeps it (and replays it with the stored body), whether an Idempotency-Key's fingerprint covers it, and
 * how the OpenAPI document describes it. The route, the job submission and runner, idempotency and the document read
 * this table, so a header added here is stored, fingerprinted and documented without another edit.
 */

export type HeaderBag = Record<string, string | string[] | undefined>;

export type ContentEncoding = 'identity' | 'gzip' | 'x-gzip' | 'deflate' | 'br';

/** Everything the headers of one sync request say, typed. */
export interface SyncHeaderOptions {
  /** Content-Type. */
  format: BodyFormat;
  encoding: ContentEncoding;
  failOnError: boolean;
  indexing: IndexingRequest;
  language?: string;
  skipEvents: boolean;
  dryRun: boolean;
  idempotencyKey?: string;
  respondAsync: boolean;
  minimal: boolean;
  /** Prefer: return=representation; with dry-run: true the answer previews what the request would change. */
  representation: boolean;
}

type Parsed<T> = { ok: true; value: T } | { ok: false; problems: Problem[] };

/** What the headers give one by one; the two indexing headers each give their part of one indexing request. */
type HeaderValues = Omit<SyncHeaderOptions, 'indexing' | 'format'> & {
  format?: BodyFormat;
  indexingMode: IndexingRequest['mode'];
  indexingSkip: Pick<IndexingRequest, 'skip' | 'ignored'>;
};

/** A JSON Schema fragment of the OpenAPI document. */
export type HeaderSchema = Record<string, unknown>;

export interface SyncHeader {
  /** As documented; HTTP header names are case-insensitive (node hands them over lowercased). */
  name: string;
  /** An async job keeps the value with its body and its run parses it again (the body is stored decoded). */
  stored: boolean;
  /** Another value of it makes another request for an Idempotency-Key (IDEMPOTENCY_KEY_REUSED). */
  fingerprinted: boolean;
  /** The OpenAPI parameter (component name, schema, description); Content-Type is documented by the request body. */
  openapi: { component: string; schema: HeaderSchema; description: (indexerNames: readonly string[]) => string; example?: (indexerNames: readonly string[]) => string } | 'request-body';
  parse(raw: string | undefined, indexers: IndexerSet): Parsed<Partial<HeaderValues>>;
}

const DEFAULTS: HeaderValues = {
  encoding: 'identity',
  failOnError: true,
  indexingMode: 'inline',
  indexingSkip: { skip: new Set(), ignored: [] },
  skipEvents: false,
  dryRun: false,
  respondAsync: false,
  minimal: false,
  representation: false,
};

function invalid(header: string, detail: string): Parsed<never> {
  return { ok: false, problems: [{ code: 'HEADER_INVALID', detail, pointer: '', meta: { header } }] };
}

const JSON_TYPE = /^application\/([\w.+-]+\+)?json\b/i;
const NDJSON_TYPE = /^application\/(x-ndjson|ndjson|jsonl|x-jsonlines)\b/i;

/** The body format a content type names, if any. */
export function bodyFormat(contentType: string): BodyFormat | undefined {
  return NDJSON_TYPE.test(contentType) ? 'ndjson' : JSON_TYPE.test(contentType) ? 'json' : undefined;
}

const ENCODINGS: readonly ContentEncoding[] = ['identity', 'gzip', 'x-gzip', 'deflate', 'br'];

/** RFC 7240's `Prefer`: the names of the preferences (lowercased, parameters dropped): `respond-async`, `return=minimal`. */
export function preferences(raw: string | undefined): Set<string> {
  return new Set(
    (raw ?? '')
      .split(',')
      .map((p) => p.split(';')[0]!.trim().toLowerCase().replace(/\s*=\s*/, '='))
      .filter(Boolean),
  );
}

/** Stripe's bound for an idempotency key: 1 to 255 visible ASCII characters. */
const KEY = /^[\x21-\x7e]{1,255}$/;

/** true/1, false/0 in any case (Shopware sends both spellings); absent: the default. */
function trueOrFalse(name: string, raw: string | undefined, numbers: boolean): Parsed<boolean | undefined> {
  if (raw === undefined) return { ok: true, value: undefined };
  const v = raw.trim().toLowerCase();
  if (v === 'true' || (numbers && v === '1')) return { ok: true, value: true };
  if (v === 'false' || (numbers && v === '0')) return { ok: true, value: false };
  return invalid(name, `${name} must be "true" or "false", got ${showValue(raw)}`);
}

function mapped<T, U>(p: Parsed<T>, f: (v: T) => U): Parsed<U> {
  return p.ok ? { ok: true, value: f(p.value) } : p;
}

const text = (description: string) => () => description;

export const SYNC_HEADERS: readonly SyncHeader[] = [
  {
    name: 'Content-Type',
    stored: true,
    fingerprinted: true,
    openapi: 'request-body',
    parse(raw) {
      const format = bodyFormat(raw ?? '');
      if (format) return { ok: true, value: { format } };
      const got = raw ? `"${raw.slice(0, 80)}"` : 'none';
      return { ok: false, problems: [{ code: 'BODY_NOT_JSON', detail: `expected Content-Type application/json or application/x-ndjson, got ${got}`, pointer: '' }] };
    },
  },
  {
    name: 'Content-Encoding',
    // A job stores the body decoded; the fingerprint hashes the body as sent, so its encoding counts.
    stored: false,
    fingerprinted: true,
    openapi: {
      component: 'ContentEncoding',
      schema: { type: 'string', enum: ['gzip', 'x-gzip', 'deflate', 'br', 'identity'] },
      description: text('a compressed body; SYNC_MAX_BODY_BYTES counts the decompressed bytes. Another encoding is BODY_NOT_JSON.'),
    },
    parse(raw) {
      const v = (raw ?? 'identity').trim().toLowerCase() as ContentEncoding;
      if (ENCODINGS.includes(v)) return { ok: true, value: { encoding: v } };
      return { ok: false, problems: [{ code: 'BODY_NOT_JSON', detail: 'unsupported Content-Encoding (gzip, deflate, br or identity)', pointer: '' }] };
    },
  },
  {
    name: 'fail-on-error',
    stored: true,
    fingerprinted: true,
    openapi: {
      component: 'FailOnError',
      schema: { type: 'string', enum: ['true', 'false'], default: 'true' },
      description: text(
        'true: all or nothing. false: each failing record is rolled back alone (with everything nested in it), the rest is committed, and the 200 answer lists the errors (x-sync-errors). 1 and 0 are accepted too, in any case; another value is HEADER_INVALID.',
      ),
    },
    parse: (raw) => mapped(trueOrFalse('fail-on-error', raw, true), (v) => (v === undefined ? {} : { failOnError: v })),
  },
  {
    name: 'indexing-behavior',
    stored: true,
    fingerprinted: true,
    openapi: {
      component: 'IndexingBehavior',
      schema: { type: 'string', enum: ['use-queue-indexing', 'disable-indexing'] },
      description: text(
        "absent: derived fields are computed in the request's transaction (x-indexing: inline); use-queue-indexing: one durable job per indexer, committed with the data (x-indexing: queued <n>); disable-indexing: nothing is indexed (x-indexing: disabled). Any other value is HEADER_INVALID. See docs/indexing.md.",
      ),
    },
    parse: (raw) => mapped(parseIndexingMode(raw), (indexingMode) => ({ indexingMode })),
  },
  {
    name: 'indexing-skip',
    stored: true,
    fingerprinted: true,
    openapi: {
      component: 'IndexingSkip',
      schema: { type: 'string' },
      description: (names) => `comma-separated indexer names left out of this request (${names.join(', ') || 'none defined'}); an unknown name is HEADER_INVALID`,
      example: (names) => names.join(','),
    },
    parse: (raw, indexers) => mapped(parseIndexingSkip(raw, indexers), (indexingSkip) => ({ indexingSkip })),
  },
  {
    name: LANGUAGE_HEADER,
    stored: true,
    fingerprinted: true,
    openapi: {
      component: 'LanguageId',
      schema: { type: 'string' },
      description: text(
        'the id of a language: plain translated values are written for it (absent: the default language, en-GB); the default language still needs every required translated field to create a record. An unknown id is 412 LANGUAGE_NOT_FOUND.',
      ),
    },
    // Checked against the database's languages when the sync runs (412 LANGUAGE_NOT_FOUND).
    parse: (raw) => ({ ok: true, value: raw === undefined ? {} : { language: raw } }),
  },
  {
    name: 'sw-skip-trigger-flow',
    stored: true,
    fingerprinted: true,
    openapi: {
      component: 'SkipTriggerFlow',
      schema: { type: 'string' },
      description: text('1 or true: the request emits no events, so no webhook hears of it (Shopware skips its flows); any other value is ignored.'),
    },
    // Lenient, as Shopware is: anything but 1/true leaves events on.
    parse: (raw) => ({ ok: true, value: { skipEvents: raw !== undefined && ['1', 'true'].includes(raw.trim().toLowerCase()) } }),
  },
  {
    name: 'single-operation',
    // Changes nothing here (one transaction always), so it neither makes another request nor needs keeping.
    stored: false,
    fingerprinted: false,
    openapi: {
      component: 'SingleOperation',
      schema: { type: 'string' },
      description: text('accepted for Shopware clients and ignored: bulksync always runs the whole request in one transaction.'),
    },
    parse: () => ({ ok: true, value: {} }),
  },
  {
    name: 'dry-run',
    stored: true,
    fingerprinted: true,
    openapi: {
      component: 'DryRun',
      schema: { type: 'string', enum: ['true', 'false'] },
      description: text(
        'true: the request runs completely (validation, lookups, constraints, writes, cascades, indexing, events) and is rolled back; the answer is what it would have answered, with x-dry-run: true. Nothing is written and no idempotency key is stored. Another value is HEADER_INVALID.',
      ),
    },
    parse: (raw) => mapped(trueOrFalse('dry-run', raw, false), (v) => (v === undefined ? {} : { dryRun: v })),
  },
  {
    name: 'Prefer',
    stored: true,
    fingerprinted: true,
    openapi: {
      component: 'Prefer',
      schema: { type: 'string', example: 'respond-async' },
      description: text(
        'respond-async: the body is stored and run by a queue worker as an async job; the answer is 202 with Location: /api/_action/sync/jobs/<id>. return=minimal: the answer counts the records per entity (counts) instead of listing their ids. return=representation with dry-run: true: the answer previews what the request would change (changes per entity, and records with their field changes; see docs/safe-resyncs.md), as NDJSON with Accept: application/x-ndjson; without dry-run it is ignored. Several may be given, comma-separated; other preferences are ignored.',
      ),
    },
    parse(raw) {
      const p = preferences(raw);
      return { ok: true, value: { respondAsync: p.has('respond-async'), minimal: p.has('return=minimal'), representation: p.has('return=representation') } };
    },
  },
  {
    name: 'Idempotency-Key',
    // The key names the request; it is not part of what the request means, and a job's run uses no key.
    stored: false,
    fingerprinted: false,
    openapi: {
      component: 'IdempotencyKey',
      schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,255}$' },
      description: text(
        "1 to 255 visible ASCII characters, the integration's own (Stripe's semantics): the first request with a key runs and its answer is stored with its writes; the same request again gets that answer with Idempotent-Replayed: true; another request with the key is 422 IDEMPOTENCY_KEY_REUSED; while the first runs, 409 IDEMPOTENCY_IN_FLIGHT. Kept IDEMPOTENCY_TTL_HOURS (24). 5xx answers are not stored. Another value is HEADER_INVALID.",
      ),
    },
    parse(raw) {
      if (raw === undefined) return { ok: true, value: {} };
      if (KEY.test(raw)) return { ok: true, value: { idempotencyKey: raw } };
      return invalid('Idempotency-Key', `Idempotency-Key must be 1 to 255 visible ASCII characters, got ${raw.length ? `${raw.length} characters` : 'an empty value'}`);
    },
  },
];

/** A header's value as one string (a repeated header joined with commas, as HTTP reads it). */
function valueOf(headers: HeaderBag, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The sync request's headers → its typed options, or every problem they have (HEADER_INVALID, BODY_NOT_JSON). */
export function parseSyncHeaders(headers: HeaderBag, indexers: IndexerSet): Parsed<SyncHeaderOptions> {
  const problems: Problem[] = [];
  let values: HeaderValues = DEFAULTS;
  for (const h of SYNC_HEADERS) {
    const parsed = h.parse(valueOf(headers, h.name), indexers);
    if (parsed.ok) values = { ...values, ...parsed.value };
    else problems.push(...parsed.problems);
  }
  const { indexingMode, indexingSkip, format, ...rest } = values;
  // Content-Type's parser gives a format or a problem: no format without a problem cannot happen.
  if (problems.length || !format) return { ok: false, problems };
  return { ok: true, value: { ...rest, format, indexing: { mode: indexingMode, ...indexingSkip } } };
}

/** What the core's executor takes of the headers. */
export function executionOptions(o: SyncHeaderOptions): ExecutionOptions {
  return {
    failOnError: o.failOnError,
    indexing: o.indexing,
    skipEvents: o.skipEvents,
    minimal: o.minimal,
    language: o.language,
    dryRun: o.dryRun,
    ...(o.dryRun && o.representation ? { preview: true } : {}),
  };
}

function selected(headers: HeaderBag, keep: (h: SyncHeader) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of SYNC_HEADERS) {
    const v = keep(h) ? valueOf(headers, h.name) : undefined;
    if (v !== undefined) out[h.name.toLowerCase()] = v.trim();
  }
  return out;
}

/** What an async job keeps of its request's headers (never Authorization or anything the table does not name). */
export function storedHeaders(headers: HeaderBag): Record<string, string> {
  return selected(headers, (h) => h.stored);
}

/** The headers an Idempotency-Key's fingerprint covers, as sent (trimmed). */
export function fingerprintedHeaders(headers: HeaderBag): Record<string, string> {
  return selected(headers, (h) => h.fingerprinted);
}

/** An OpenAPI header parameter of the sync route, under its component name. */
export interface HeaderParameter {
  component: string;
  parameter: { name: string; in: 'header'; required: false; schema: HeaderSchema; description: string; example?: string };
}

/** The table as the OpenAPI document lists it (Content-Type is the request body's media types). */
export function syncHeaderParameters(indexerNames: readonly string[]): HeaderParameter[] {
  return SYNC_HEADERS.flatMap((h) => {
    if (h.openapi === 'request-body') return [];
    const { component, schema, description, example } = h.openapi;
    const ex = example?.(indexerNames);
    return [{ component, parameter: { name: h.name, in: 'header' as const, required: false as const, schema, description: description(indexerNames), ...(ex ? { example: ex } : {}) } }];
  });
}
