import autocannon from 'autocannon';
import { connect } from './db';
import { productWrites, rawWrite } from './raw';
import { changed, makeProduct, syncBody, type Product } from './rows';

/**
 * Concurrency: `clients` connections (autocannon) each sending 100-record syncs for a fixed time. Every body is a
 * fresh random draw of distinct products, in random order, so the keys of concurrent requests overlap and arrive
 * unsorted: the server's lock ordering is what has to prevent deadlocks.
 *
 * - `existing`: 100 of a pool of 1,000 products that exist before the run (concurrent updates of the same rows:
 *   nearly every pair of concurrent requests shares keys);
 * - `spread`: 100 of 20,000 existing products (two concurrent requests share a key about 40 % of the time), to
 *   tell lock waits from plain CPU saturation;
 * - `mixed`: 50 of the 1,000 plus 50 drawn from a window of 400 keys that moves forward by 20 keys per request,
 *   so concurrent requests create the same new records while others update them (concurrent inserts + updates).
 */
export type LoadScenario = 'existing' | 'spread' | 'mixed';

export const LOAD_SCENARIOS: readonly LoadScenario[] = ['existing', 'spread', 'mixed'];

/** Products that exist before the run, per scenario. */
export function poolSize(scenario: LoadScenario): number {
  return scenario === 'spread' ? 20_000 : POOL_SIZE;
}

export interface LoadResult {
  scenario: LoadScenario;
  clients: number;
  seconds: number;
  recordsPerRequest: number;
  requests: number;
  ok: number;
  /** Answers other than 200, by status and error code. */
  failures: Map<string, number>;
  /** Connection errors and timeouts (autocannon). */
  transportErrors: number;
  recordsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
}

export interface LoadOptions {
  baseUrl: string;
  scenario: LoadScenario;
  clients: number;
  seconds: number;
  recordsPerRequest: number;
  keys: LoadKeys;
  headers: Record<string, string>;
}

export const POOL_SIZE = 1_000;
const WINDOW = 400;
const WINDOW_STEP = 20;

/** Products by key number, made on first use; the first numbers are the pool written before the run. */
export class LoadKeys {
  private readonly made = new Map<number, Product>();
  private next = 1_000_000;
  constructor(private readonly taxId: string) {}
  get(i: number): Product {
    let p = this.made.get(i);
    if (!p) {
      p = makeProduct(this.taxId, 900_000 + i);
      this.made.set(i, p);
    }
    return p;
  }
  pool(size: number): Product[] {
    return Array.from({ length: size }, (_, i) => this.get(i));
  }
  /** Start of the moving window of new keys; advances per request. */
  advance(): number {
    const start = this.next;
    this.next += WINDOW_STEP;
    return start;
  }
}

function pick(n: number, from: number, count: number, into = new Set<number>()): Set<number> {
  const target = into.size + n;
  while (into.size < target) into.add(from + Math.floor(Math.random() * count));
  return into;
}

function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function failureKey(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { errors?: { code?: string }[] };
    const codes = [...new Set((parsed.errors ?? []).map((e) => e.code ?? '?'))];
    return `${status} ${codes.join('+') || '?'}`;
  } catch {
    return `${status}`;
  }
}

/** The products of one request of the scenario: a fresh random draw, in random order. */
function draw(scenario: LoadScenario, keys: LoadKeys, n: number, round: number): Product[] {
  const chosen =
    scenario !== 'mixed' ? pick(n, 0, poolSize(scenario)) : pick(n - Math.floor(n / 2), keys.advance(), WINDOW, pick(Math.floor(n / 2), 0, POOL_SIZE));
  return shuffle([...chosen]).map((i) => changed(keys.get(i), round % 50));
}

/**
 * The same load as raw SQL, for comparison: `clients` connections each running transactions that upsert the drawn
 * products and their translation rows (unnest, ON CONFLICT DO UPDATE), keys sorted so that raw never deadlocks,
 * back to back for `seconds`. What PostgreSQL alone makes of the overlap.
 */
export async function runRawLoad(opts: Omit<LoadOptions, 'baseUrl' | 'headers'> & { databaseUrl: string }): Promise<LoadResult> {
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let ok = 0;
  let round = 0;
  const started = performance.now();
  const end = started + opts.seconds * 1000;
  const worker = async () => {
    const client = await connect(opts.databaseUrl);
    try {
      while (performance.now() < end) {
        const products = draw(opts.scenario, opts.keys, opts.recordsPerRequest, ++round).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const t0 = performance.now();
        try {
          await rawWrite(client, 'unnest', productWrites(products));
          ok++;
        } catch (e) {
          const key = `raw ${(e as { code?: string }).code ?? 'error'}`;
          failures.set(key, (failures.get(key) ?? 0) + 1);
        }
        latencies.push(performance.now() - t0);
      }
    } finally {
      await client.end();
    }
  };
  await Promise.all(Array.from({ length: opts.clients }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    scenario: opts.scenario,
    clients: opts.clients,
    seconds,
    recordsPerRequest: opts.recordsPerRequest,
    requests: latencies.length,
    ok,
    failures,
    transportErrors: 0,
    recordsPerSecond: (ok * opts.recordsPerRequest) / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
  };
}

export async function runLoad(opts: LoadOptions): Promise<LoadResult> {
  const { keys, recordsPerRequest: n } = opts;
  let round = 0;
  const nextBody = (): Buffer => syncBody('product', draw(opts.scenario, keys, n, ++round));
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let ok = 0;
  let finish: (r: autocannon.Result) => void = () => undefined;
  let fail: (e: unknown) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon(
    {
      url: `${opts.baseUrl}/api/_action/sync`,
      connections: opts.clients,
      duration: opts.seconds,
      timeout: 60,
      method: 'POST',
      headers: { 'content-type': 'application/json', ...opts.headers },
      requests: [
        {
          method: 'POST',
          setupRequest: (req) => ({ ...req, body: nextBody() }),
          onResponse: (status, body) => {
            if (status === 200) ok++;
            else {
              const key = failureKey(status, body);
              failures.set(key, (failures.get(key) ?? 0) + 1);
            }
          },
        },
      ],
    },
    (err: unknown, result: autocannon.Result) => (err ? fail(err) : finish(result)),
  );
  instance.on('response', (_client: autocannon.Client, _status: number, _bytes: number, responseTime: number) => {
    latencies.push(responseTime);
  });
  const result = await done;
  latencies.sort((a, b) => a - b);
  const requests = latencies.length;
  return {
    scenario: opts.scenario,
    clients: opts.clients,
    seconds: result.duration,
    recordsPerRequest: opts.recordsPerRequest,
    requests,
    ok,
    failures,
    transportErrors: result.errors,
    recordsPerSecond: (ok * opts.recordsPerRequest) / result.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? NaN,
  };
}
