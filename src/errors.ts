/**
 * Stable error codes of the API and the one error value that carries code, status and pointer.
 * Stages return these as values; only the HTTP edge turns them into responses.
 */
export const ERROR_CODES = {
  BODY_NOT_JSON: { status: 400, title: 'Body is not JSON' },
  BODY_TOO_LARGE: { status: 413, title: 'Body too large' },
  OPERATION_INVALID: { status: 400, title: 'Invalid operation' },
  ENTITY_UNKNOWN: { status: 400, title: 'Unknown entity' },
  ENTITY_READ_ONLY: { status: 400, title: 'Entity is read-only' },
  ACTION_UNKNOWN: { status: 400, title: 'Unknown action' },
  PAYLOAD_AND_CRITERIA: { status: 400, title: 'Payload and criteria given together' },
  FIELD_UNKNOWN: { status: 400, title: 'Unknown field' },
  FIELD_REQUIRED: { status: 400, title: 'Required field missing' },
  FIELD_WRITE_PROTECTED: { status: 400, title: 'Field is write-protected' },
  VALUE_INVALID: { status: 400, title: 'Invalid value' },
  ID_INVALID: { status: 400, title: 'Invalid id' },
  FK_NOT_FOUND: { status: 400, title: 'Referenced record not found' },
  FK_RESTRICT: { status: 409, title: 'Record is still referenced' },
  UNIQUE_VIOLATION: { status: 409, title: 'Unique value already used' },
  CRITERIA_INVALID: { status: 400, title: 'Invalid criteria' },
  RESOLVER_NOT_FOUND: { status: 400, title: 'Unknown resolver' },
  REFERENCE_UNRESOLVED: { status: 400, title: 'Reference could not be resolved' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  PAYLOAD_TOO_MANY_RECORDS: { status: 413, title: 'Too many records' },
  HEADER_INVALID: { status: 400, title: 'Invalid header' },
  /** 400 inside `translations`; the sw-language-id header naming an unknown language answers 412 (Problem.status). */
  LANGUAGE_NOT_FOUND: { status: 400, title: 'Language not found' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  CONFLICT_RETRY_EXHAUSTED: { status: 503, title: 'Conflicting concurrent writes' },
  DATABASE_UNAVAILABLE: { status: 503, title: 'Database unavailable' },
  MISSING_SKIPPED: { status: 409, title: 'Snapshot clear skipped' },
  CLEAR_GUARD: { status: 409, title: 'Snapshot clear refused by its guard' },
  VERSION_CONFLICT: { status: 409, title: 'Record changed since the version it was based on' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'Idempotency key used for another request' },
  IDEMPOTENCY_IN_FLIGHT: { status: 409, title: 'Request with this idempotency key still running' },
  JOB_FINISHED: { status: 409, title: 'Job already finished' },
  INTERNAL: { status: 500, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorMeta {
  operation?: string;
  entity?: string;
  index?: number;
  [key: string]: unknown;
}

/** One problem, in the shape of a JSON:API error object (minus status/title, derived from the code). */
export interface Problem {
  code: ErrorCode;
  detail: string;
  pointer?: string;
  meta?: ErrorMeta;
  /** Overrides the code's status where one code has two (LANGUAGE_NOT_FOUND: 412 for the header, 400 in a body). */
  status?: number;
}

export interface JsonApiError {
  status: string;
  code: ErrorCode;
  title: string;
  detail: string;
  source?: { pointer: string };
  meta?: ErrorMeta;
}

export const MAX_REPORTED_ERRORS = 1000;

/** Thrown to abort a request with one or more problems; the HTTP edge renders it. */
export class ApiError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem | Problem[]) {
    const list = Array.isArray(problems) ? problems : [problems];
    super(list[0]?.detail ?? 'error');
    this.problems = list.slice(0, MAX_REPORTED_ERRORS);
  }
  get status(): number {
    return problemsStatus(this.problems);
  }
}

/** The status of an answer with these problems: one code class → its status; a 5xx beats any 4xx; a mix of 4xx is 400. */
export function problemsStatus(problems: readonly Problem[]): number {
  const statuses = new Set(problems.map((p) => p.status ?? ERROR_CODES[p.code].status));
  if (statuses.size === 1) return [...statuses][0]!;
  const server = [...statuses].filter((s) => s >= 500);
  if (server.length) return Math.max(...server);
  return 400;
}

export function toJsonApi(p: Problem): JsonApiError {
  const def = ERROR_CODES[p.code];
  const out: JsonApiError = { status: String(p.status ?? def.status), code: p.code, title: def.title, detail: p.detail };
  if (p.pointer !== undefined) out.source = { pointer: p.pointer };
  if (p.meta) out.meta = p.meta;
  return out;
}

/** RFC 6901 escaping of one pointer segment. */
export function pointerSegment(s: string | number): string {
  return String(s).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + pointerSegment(s)).join('');
}

/** Show a value in an error detail without echoing megabytes (or a pathologically deep structure) back. */
export function showValue(v: unknown, max = 60): string {
  if (typeof v === 'string') return JSON.stringify(v.length > max ? v.slice(0, max) : v) + (v.length > max ? `… (${v.length} characters)` : '');
  if (v === null || typeof v !== 'object') return String(v);
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    return Array.isArray(v) ? 'a list' : 'an object';
  }
  return s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;
}

/** The one refusal of a body over SYNC_MAX_BODY_BYTES, whichever reader (streaming, buffered, job upload, replay) met the limit. */
export function bodyTooLarge(limitBytes: number | undefined): Problem {
  return { code: 'BODY_TOO_LARGE', detail: `the body is larger than the limit of ${limitBytes} bytes (SYNC_MAX_BODY_BYTES)`, pointer: '' };
}
