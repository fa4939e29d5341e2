import type pg from 'pg';
import { cpuSpent, sampleCpu } from './cpu';
import { resetTables, settle } from './db';
import { sendSequential } from './endpoint';
import { gcMs } from './server';
import { watchRss } from './memory';
import { RAW_METHODS, rawWrite, type RawMethod, type TableWrite } from './raw';
import { fmtInt, type Measurement, type Pass } from './report';
import { slices, syncBody, type MatchMode } from './rows';

/** One data set, written by every method: the raw ones and the endpoint in one or more request shapes. */
export interface DataSet {
  group: string;
  records: number;
  /** Rows for the raw methods, per pass. */
  raw: Record<'insert' | 'update', TableWrite[]>;
  /** API records (one per product, nested records inside), per pass. */
  api: Record<'insert' | 'update', readonly object[]>;
  /** Also a third pass: the update pass's records again, unchanged (raw methods rewrite them all). */
  resend?: boolean;
  /** Records per request of each endpoint variant. */
  requestSizes: readonly number[];
  /** Flat product sets: how the API records name their record (compared across sizes in growthTable). */
  match?: MatchMode;
  /** Fields added to the sync operation (e.g. matchBy). */
  operation?: Record<string, unknown>;
  /** Request size whose server RSS is watched. */
  watchRssOf?: number;
  /** Untimed setup after the tables are emptied (e.g. the categories that exist before the pass). */
  prepare?: (client: pg.Client) => Promise<void>;
}

export interface CaseContext {
  client: pg.Client;
  baseUrl: string;
  serverPid: number;
  rounds: number;
  /** Headers of the sync requests (indexing behaviour, authorization), asked for before each timed pass. */
  headers: () => Promise<Record<string, string>>;
  /** x-indexing answers seen, to report what the server did. */
  indexingSeen: Set<string>;
  log: (line: string) => void;
}

type Method = { kind: 'raw'; raw: RawMethod } | { kind: 'endpoint'; perRequest: number };

function methodLabel(m: Method, records: number): string {
  if (m.kind === 'raw') return m.raw === 'unnest' ? 'raw unnest' : 'raw COPY';
  const n = Math.ceil(records / m.perRequest);
  return `endpoint ${n} × ${fmtInt(m.perRequest)}`;
}

/**
 * Runs every method on the data set, `rounds` times, the order of the methods rotating by round. Each method
 * starts from empty tables: insert pass, then update pass, each timed alone after a checkpoint.
 */
export async function runDataSet(ctx: CaseContext, set: DataSet): Promise<Measurement[]> {
  const methods: Method[] = [
    ...RAW_METHODS.map((raw): Method => ({ kind: 'raw', raw })),
    ...set.requestSizes.map((perRequest): Method => ({ kind: 'endpoint', perRequest })),
  ];
  const passes: Pass[] = ['insert', 'update', ...(set.resend ? (['unchanged'] as const) : [])];
  const rows = (pass: Pass) => (pass === 'insert' ? 'insert' : 'update');
  const bodies = new Map<string, Buffer[]>();
  const results = new Map<string, Measurement>();
  for (const m of methods) {
    for (const pass of passes) {
      const label = methodLabel(m, set.records);
      results.set(`${label}/${pass}`, {
        group: set.group,
        method: label,
        raw: m.kind === 'raw',
        pass,
        records: set.records,
        rounds: [],
        ...(m.kind === 'endpoint' ? { match: set.match, perRequest: m.perRequest } : {}),
      });
      if (m.kind === 'endpoint') {
        const entity = 'product';
        bodies.set(`${m.perRequest}/${pass}`, slices(set.api[rows(pass)], m.perRequest).map((chunk) => syncBody(entity, chunk, set.operation)));
      }
    }
  }
  for (let round = 0; round < ctx.rounds; round++) {
    const order = methods.map((_, i) => methods[(i + round) % methods.length]!);
    for (const m of order) {
      await resetTables(ctx.client);
      await set.prepare?.(ctx.client);
      for (const pass of passes) {
        const label = methodLabel(m, set.records);
        const out = results.get(`${label}/${pass}`)!;
        await settle(ctx.client);
        // The server's GC time is read outside the CPU window (a scrape costs the server CPU of its own).
        const gcBefore = m.kind === 'raw' ? undefined : await gcMs(ctx.baseUrl);
        const cpuBefore = await sampleCpu(ctx.client, m.kind === 'raw' ? undefined : ctx.serverPid);
        if (m.kind === 'raw') {
          const t0 = performance.now();
          await rawWrite(ctx.client, m.raw, set.raw[rows(pass)]);
          out.rounds.push(performance.now() - t0);
        } else {
          const list = bodies.get(`${m.perRequest}/${pass}`)!;
          const perBody = slices(set.api[rows(pass)], m.perRequest).map((c) => c.length);
          const headers = await ctx.headers();
          const send = async () => {
            const r = await sendSequential(ctx.baseUrl, list, { entity: 'product', perBody }, headers);
            ctx.indexingSeen.add(r.indexing ?? '(no x-indexing header)');
            return r;
          };
          if (set.watchRssOf === m.perRequest) {
            const { result, sample } = await watchRss(ctx.serverPid, send);
            out.rounds.push(result.ms);
            (out.latencies ??= []).push(...result.latencies);
            const bodyBytes = list.reduce((n, b) => n + b.length, 0);
            // The worst round is kept: a limit is about the peak.
            if (!out.memory || sample.peak - sample.before > out.memory.peak - out.memory.before) {
              out.memory = { bodyBytes, before: sample.before, peak: sample.peak, source: sample.source };
            }
          } else {
            const result = await send();
            out.rounds.push(result.ms);
            (out.latencies ??= []).push(...result.latencies);
          }
        }
        const cpu = cpuSpent(cpuBefore, await sampleCpu(ctx.client, m.kind === 'raw' ? undefined : ctx.serverPid));
        (out.cpu ??= []).push(gcBefore === undefined ? cpu : { ...cpu, gc: (await gcMs(ctx.baseUrl)) - gcBefore });
        const ms = out.rounds[out.rounds.length - 1]!;
        ctx.log(`  ${set.group} · ${label} · ${pass}: ${(ms / 1000).toFixed(2)} s, ${fmtInt((set.records / ms) * 1000)} records/s (round ${round + 1}/${ctx.rounds})`);
      }
    }
  }
  return [...results.values()];
}
