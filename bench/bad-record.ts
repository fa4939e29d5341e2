import type pg from 'pg';
import { resetTables, settle } from './db';
import { fmtInt, median } from './report';
import { hexId, makeProducts, syncBody } from './rows';

/**
 * One bad record in a chunk: 2,000 products (one chunk) of which one names a tax that does not exist, against the
 * same 2,000 products all good. The good chunk is written by one statement per table; the bad one fails that
 * statement, goes back to its savepoint and is diagnosed the careful way. The answer must name the record and the
 * field; the time of the bad request should stay within twice the good one's.
 */
export interface BadRecordReport {
  records: number;
  goodMs: number;
  badMs: number;
  /** code and pointer of the bad request's errors. */
  answer: string;
}

export async function runBadRecord(ctx: {
  client: pg.Client;
  baseUrl: string;
  taxId: string;
  rounds: number;
  headers: () => Promise<Record<string, string>>;
}): Promise<BadRecordReport> {
  const records = 2_000;
  const good: number[] = [];
  const bad: number[] = [];
  let answer = '';
  const send = async (body: Buffer) => {
    const t0 = performance.now();
    const res = await fetch(`${ctx.baseUrl}/api/_action/sync`, { method: 'POST', headers: { 'content-type': 'application/json', ...(await ctx.headers()) }, body });
    const text = await res.text();
    return { ms: performance.now() - t0, status: res.status, text };
  };
  for (let round = 0; round < Math.max(3, ctx.rounds); round++) {
    await resetTables(ctx.client);
    await settle(ctx.client);
    const ok = await send(syncBody('product', makeProducts(ctx.taxId, records)));
    if (ok.status !== 200) throw new Error(`good chunk answered ${ok.status}: ${ok.text.slice(0, 300)}`);
    good.push(ok.ms);
    await resetTables(ctx.client);
    await settle(ctx.client);
    const products = makeProducts(ctx.taxId, records);
    products[1234] = { ...products[1234]!, taxId: hexId() };
    const failed = await send(syncBody('product', products));
    if (failed.status !== 400) throw new Error(`bad chunk answered ${failed.status}: ${failed.text.slice(0, 300)}`);
    const errors = (JSON.parse(failed.text) as { errors: { code: string; source?: { pointer?: string } }[] }).errors;
    answer = errors.map((e) => `${e.code} ${e.source?.pointer ?? ''}`).join(', ');
    bad.push(failed.ms);
  }
  return { records, goodMs: median(good), badMs: median(bad), answer };
}

export function badRecordLines(r: BadRecordReport): string {
  return [
    `- one bad record (a taxId naming no tax) among ${fmtInt(r.records)} products: ${r.badMs.toFixed(0)} ms (answer: ${r.answer}) vs ${r.goodMs.toFixed(0)} ms for the same chunk all good: ${(r.badMs / r.goodMs).toFixed(2)}× (target ≤ 2×)`,
  ].join('\n');
}
