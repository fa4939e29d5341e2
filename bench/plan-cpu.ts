import { performance, PerformanceObserver } from 'node:perf_hooks';
import { loadRegistry } from '../src/definitions/registry';
import { DEFAULT_LANGUAGE_CONTEXT } from '../src/definitions/translations';
import { Problems } from '../src/sync/plan/plan-context';
import { planChunk } from '../src/sync/plan/plan';
import { parseOperation } from '../src/sync/operation-header';
import { changed, changedNested, EUR, makeNested, makeProducts, type NestedProduct } from './rows';

/**
 * `npx tsx bench/plan-cpu.ts [records] [rounds] [nested]`: the service's planning alone, without HTTP or a database. The
 * bench's flat products (insert pass, then the update pass's records) are parsed from JSON text one by one, as the
 * endpoint's body reader does, and planned in chunks of 2,000; printed: µs of CPU per record for parsing and for
 * planning, the whole CPU of the pass (garbage collection included) and the share of GC pauses. Planning is the largest part of the endpoint's CPU per record, and
 * the one a change to src/sync/plan/ moves; this measures it without the noise of PostgreSQL on the same cores.
 */
const records = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 3);
/** `nested` as third argument: the nested case's products (two existing categories and one new one each). */
const nested = process.argv[4] === 'nested';
const CHUNK = 2_000;
const TAX = '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b';

const registry = loadRegistry(['schemas']);
const currency = registry.get('currency');
const lookups = new Map([[currency.name, { ids: new Set([EUR]), byResolver: new Map([['currency.isoCode', new Map([['EUR', [EUR]]])]]) }]]);
const op = parseOperation('p', { entity: 'product', action: 'upsert', payload: [] }, registry).operation!;

let gc = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gc += e.duration;
}).observe({ entryTypes: ['gc'] });

async function pass(lines: string[]): Promise<{ parse: number; plan: number; gc: number; cpu: number }> {
  let parse = 0;
  let plan = 0;
  const gcBefore = gc;
  const start = process.cpuUsage();
  for (let first = 0; first < lines.length; first += CHUNK) {
    const t0 = process.cpuUsage();
    const parsed = lines.slice(first, first + CHUNK).map((l) => JSON.parse(l) as unknown);
    const t1 = process.cpuUsage();
    const problems = new Problems();
    planChunk({ registry, op, records: parsed, firstIndex: first, problems, inputs: { i18n: DEFAULT_LANGUAGE_CONTEXT, lookups } });
    const t2 = process.cpuUsage();
    if (problems.list.length) throw new Error(JSON.stringify(problems.list[0]));
    parse += t1.user + t1.system - t0.user - t0.system;
    plan += t2.user + t2.system - t1.user - t1.system;
    // The observer hears of collections only between turns of the event loop (as the endpoint gives them).
    await new Promise((resolve) => setImmediate(resolve));
  }
  const all = process.cpuUsage(start);
  return { parse, plan, gc: gc - gcBefore, cpu: all.user + all.system };
}

const inserts = nested ? makeNested(TAX, records).products : makeProducts(TAX, records);
const passes = {
  insert: inserts.map((p) => JSON.stringify(p)),
  update: inserts.map((p) => JSON.stringify(nested ? changedNested(p as NestedProduct, 1) : changed(p, 1))),
};

async function main(): Promise<void> {
  for (let r = 1; r <= rounds; r++) {
    for (const [name, lines] of Object.entries(passes)) {
      const start = performance.now();
      const m = await pass(lines);
      const wall = performance.now() - start;
      const us = (v: number) => (v / records).toFixed(1);
      const gcShare = ((m.gc / wall) * 100).toFixed(0);
      console.log(`round ${r} ${name}: CPU ${us(m.cpu)} µs/record (of it, between collections: parse ${us(m.parse)}, plan ${us(m.plan)}); GC pauses ${gcShare} % of ${wall.toFixed(0)} ms`);
    }
  }
}

void main();
