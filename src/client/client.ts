import { ApiProblem, ConnectionError, networkReason, type ApiError } from './errors';
import { ndjsonChunks, streamOf, type NdjsonOperation } from './ndjson';
import { backoffMs, DEFAULT_RETRY, RETRYABLE_STATUS, retryAfterMs, sleep, type RetryPolicy } from './retry';
import { TokenSource, type Credentials } from './token';
import type { ChangesPage, Criteria, JsonRecord, SearchPage, SyncOperation, SyncOptions, SyncResponse, SyncResult } from './types';

export interface ClientOptions extends Credentials {
  /** The service, e.g. http://127.0.0.1:8000 */
  url: string;
  retry?: Partial<RetryPolicy>;
  /** Told before each wait between attempts (for progress output). */
  onRetry?: (info: RetryInfo) => void;
  /** For tests of token renewal. */
  now?: () => number;
}

export interface RetryInfo {
  attempt: number;
  waitMs: number;
  /** The status that caused the retry, or the network error's reason. */
  reason: string;
  path: string;
}

interface RequestSpec {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  /** A function, so that every attempt gets a fresh body (a stream can be read once). */
  body?: () => string | ReadableStream<Uint8Array>;
  /** Retry statuses of RETRYABLE_STATUS and network errors (safe for reads, and for writes with an idempotency key). */
  retry: boolean;
}

const NDJSON = 'application/x-ndjson';

/**
 * A typed client of the bulksync service: token handling, sync (JSON and NDJSON bodies), search, the change feed.
 * Only Node's fetch underneath. Errors: ApiProblem (an error status, with the service's error objects),
 * ConnectionError (unreachable after the retries), AuthenticationError (credentials refused).
 */
export class BulksyncClient {
  readonly url: string;
  private readonly tokens: TokenSource;
  private readonly policy: RetryPolicy;
  /** Whether the service takes application/x-ndjson sync bodies: learned from the first attempt. */
  private ndjson: 'unknown' | 'yes' | 'no' = 'unknown';

  constructor(private readonly options: ClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.tokens = new TokenSource(this.url, options, options.now);
    this.policy = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** The current access token (fetched or renewed as needed). */
  token(): Promise<string> {
    return this.tokens.get();
  }

  /** Say up front whether the service takes NDJSON bodies (e.g. from its OpenAPI document), instead of probing. */
  assumeNdjson(supported: boolean): void {
    this.ndjson = supported ? 'yes' : 'no';
  }

  /** Whether NDJSON bodies are used: 'unknown' until the first syncRecords() (or assumeNdjson). */
  get ndjsonSupport(): 'unknown' | 'yes' | 'no' {
    return this.ndjson;
  }

  /** POST /api/_action/sync with a JSON body (Shopware's shape). Retried on 429/503/network errors only with an idempotency key. */
  async sync(operations: SyncOperation[] | Record<string, SyncOperation>, opts: SyncOptions = {}): Promise<SyncResponse> {
    const text = JSON.stringify(operations);
    const res = await this.send({
      method: 'POST',
      path: '/api/_action/sync',
      headers: { ...syncHeaders(opts), 'content-type': 'application/json' },
      body: () => text,
      retry: opts.idempotencyKey !== undefined,
    });
    return { result: (await res.json()) as SyncResult, headers: res.headers, format: 'json' };
  }

  /**
   * POST /api/_action/sync with an `application/x-ndjson` body streamed from `operations` (docs/sync-api.md "NDJSON"): the
   * body is never whole in memory. `operations` is a function so that a retry can produce the body again.
   */
  async syncNdjson(operations: () => Iterable<NdjsonOperation> | AsyncIterable<NdjsonOperation>, opts: SyncOptions = {}): Promise<SyncResponse> {
    return this.sendNdjson(() => streamOf(ndjsonChunks(operations())), opts);
  }

  private async sendNdjson(body: () => string | ReadableStream<Uint8Array>, opts: SyncOptions): Promise<SyncResponse> {
    const res = await this.send({
      method: 'POST',
      path: '/api/_action/sync',
      headers: { ...syncHeaders(opts), 'content-type': NDJSON },
      body,
      retry: opts.idempotencyKey !== undefined,
    });
    return { result: (await res.json()) as SyncResult, headers: res.headers, format: 'ndjson' };
  }

  /**
   * One operation's records in one request: as NDJSON where the service takes it, else as JSON. The first request
   * finds out: a 415, or a 400 BODY_NOT_JSON about the content type, means the service has no NDJSON bodies, and
   * this and every later batch go as JSON.
   */
  async syncRecords(operation: SyncOperation & { payload: JsonRecord[] }, opts: SyncOptions = {}): Promise<SyncResponse> {
    if (this.ndjson !== 'no') {
      const { payload, ...header } = operation;
      // The records are in memory already: one string with a known length, not a stream (a service that refuses
      // the content type may answer before reading a streamed body, and the refusal must come back as an answer).
      const text = [JSON.stringify({ operation: header }), ...payload.map((r) => JSON.stringify(r)), ''].join('\n');
      try {
        const answer = await this.sendNdjson(() => text, opts);
        this.ndjson = 'yes';
        return answer;
      } catch (e) {
        // Batches sent together may all meet the refusal: each falls back.
        if (!(this.ndjson !== 'yes' && e instanceof ApiProblem && refusesNdjson(e))) throw e;
        this.ndjson = 'no';
      }
    }
    return this.sync([operation], opts);
  }

  /** POST /api/search/<entity>: one page. */
  async search<T = JsonRecord>(entity: string, criteria: Criteria = {}, headers: Record<string, string> = {}): Promise<SearchPage<T>> {
    const body = JSON.stringify(criteria);
    const res = await this.send({
      method: 'POST',
      path: `/api/search/${encodeURIComponent(entity)}`,
      headers: { ...headers, 'content-type': 'application/json' },
      body: () => body,
      retry: true,
    });
    return (await res.json()) as SearchPage<T>;
  }

  /** Every record matching `criteria`, page by page (keyset pages of `pageSize`, at most 500). */
  async *searchAll<T = JsonRecord>(entity: string, criteria: Criteria = {}, pageSize = 500, headers: Record<string, string> = {}): AsyncGenerator<T> {
    let after: string | undefined;
    do {
      const page = await this.search<T>(entity, { ...criteria, limit: pageSize, ...(after ? { after } : {}) }, headers);
      yield* page.data;
      after = page.next;
    } while (after);
  }

  /** GET /api/_action/changes: one page of the change feed. */
  async changes(params: { since?: string; entity?: string[]; limit?: number } = {}): Promise<ChangesPage> {
    const q = new URLSearchParams();
    if (params.since) q.set('since', params.since);
    if (params.entity?.length) q.set('entity', params.entity.join(','));
    if (params.limit) q.set('limit', String(params.limit));
    const res = await this.send({ method: 'GET', path: `/api/_action/changes${q.size ? `?${q}` : ''}`, retry: true });
    return (await res.json()) as ChangesPage;
  }

  /** GET /api/_info/openapi.json: the service's OpenAPI document (entity schemas included). */
  async openApi(): Promise<OpenApiDocument> {
    const res = await this.send({ method: 'GET', path: '/api/_info/openapi.json', retry: true });
    return (await res.json()) as OpenApiDocument;
  }

  /** POST /api/_action/index: queues a full re-index (of `entities`, or of all). */
  async reindex(entities?: string[]): Promise<{ queued: string[] }> {
    const body = JSON.stringify(entities ? { entities } : {});
    const res = await this.send({ method: 'POST', path: '/api/_action/index', headers: { 'content-type': 'application/json' }, body: () => body, retry: true });
    return ((await res.json()) as { data: { queued: string[] } }).data;
  }

  /** One request with the token, retried by the policy; an error status becomes ApiProblem. */
  private async send(spec: RequestSpec): Promise<Response> {
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      let token: string;
      try {
        token = await this.tokens.get();
      } catch (e) {
        // A service that is down answers the token request first: wait for it as for any request.
        if (!(e instanceof ConnectionError) || attempt >= this.policy.attempts) throw e;
        await this.wait({ attempt, reason: e.reason, path: '/api/oauth/token', waitMs: backoffMs(this.policy, attempt) });
        continue;
      }
      let res: Response;
      try {
        res = await fetch(this.url + spec.path, {
          method: spec.method,
          headers: { ...spec.headers, authorization: `Bearer ${token}` },
          ...(spec.body ? { body: spec.body(), duplex: 'half' } : {}),
        } as RequestInit);
      } catch (e) {
        const reason = networkReason(e);
        if (!spec.retry || attempt >= this.policy.attempts) throw new ConnectionError(this.url, reason);
        await this.wait({ attempt, reason, path: spec.path, waitMs: backoffMs(this.policy, attempt) });
        continue;
      }
      if (res.ok) return res;
      const errors = await errorsOf(res);
      // A token the service no longer takes (expired early, key rotated): one fresh token, then the answer stands.
      if (res.status === 401 && !renewed) {
        renewed = true;
        this.tokens.invalidate();
        attempt--;
        continue;
      }
      const retryable = RETRYABLE_STATUS.has(res.status) || (res.status === 409 && errors[0]?.code === 'IDEMPOTENCY_IN_FLIGHT');
      if (retryable && spec.retry && attempt < this.policy.attempts) {
        const waitMs = backoffMs(this.policy, attempt, retryAfterMs(res.headers.get('retry-after')));
        await this.wait({ attempt, reason: `HTTP ${res.status}${errors[0] ? ` ${errors[0].code}` : ''}`, path: spec.path, waitMs });
        continue;
      }
      throw new ApiProblem(res.status, errors, res.headers);
    }
  }

  private async wait(info: RetryInfo): Promise<void> {
    this.options.onRetry?.(info);
    await sleep(info.waitMs);
  }
}

/** The parts of the OpenAPI document the CLI reads. */
export interface OpenApiDocument {
  paths?: Record<string, Record<string, { parameters?: ({ $ref?: string; name?: string; in?: string })[]; requestBody?: { content?: Record<string, unknown> } }>>;
  components: { schemas: Record<string, JsonRecord>; parameters?: Record<string, { name?: string; in?: string }> };
}

/** What the document says the sync endpoint takes: its request headers (lower case) and body content types. */
export function syncCapabilities(doc: OpenApiDocument): { headers: Set<string>; contentTypes: Set<string> } {
  const op = doc.paths?.['/api/_action/sync']?.post;
  const headers = new Set<string>();
  for (const p of op?.parameters ?? []) {
    const param = p.$ref ? doc.components.parameters?.[p.$ref.replace('#/components/parameters/', '')] : p;
    if (param?.in === 'header' && param.name) headers.add(param.name.toLowerCase());
  }
  return { headers, contentTypes: new Set(Object.keys(op?.requestBody?.content ?? {})) };
}

function syncHeaders(opts: SyncOptions): Record<string, string> {
  const h: Record<string, string> = {};
  if (opts.idempotencyKey !== undefined) h['idempotency-key'] = opts.idempotencyKey;
  if (opts.failOnError === false) h['fail-on-error'] = 'false';
  if (opts.indexing === 'queue') h['indexing-behavior'] = 'use-queue-indexing';
  if (opts.indexing === 'disabled') h['indexing-behavior'] = 'disable-indexing';
  if (opts.dryRun) h['dry-run'] = 'true';
  const prefer = [...(opts.minimal ? ['return=minimal'] : []), ...(opts.preview ? ['return=representation'] : [])];
  if (prefer.length) h.prefer = prefer.join(', ');
  if (opts.languageId) h['sw-language-id'] = opts.languageId;
  if (opts.skipTriggerFlow) h['sw-skip-trigger-flow'] = 'true';
  return h;
}

async function errorsOf(res: Response): Promise<ApiError[]> {
  const body = (await res.json().catch(() => undefined)) as { errors?: ApiError[] } | undefined;
  return Array.isArray(body?.errors) ? body.errors : [];
}

/** The service does not take NDJSON bodies (415, or the JSON-only body parser's BODY_NOT_JSON about the content type). */
function refusesNdjson(e: ApiProblem): boolean {
  if (e.status === 415) return true;
  const first = e.errors[0];
  return e.status === 400 && first?.code === 'BODY_NOT_JSON' && /content-type/i.test(first.detail ?? '') && first.meta?.line === undefined;
}
