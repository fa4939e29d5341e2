import { startTestApp, type TestApp } from '../support/app';
import { createTax, storedRows, sync } from '../support/sync';
import { products } from '../fixtures/catalog';

/**
 * The clear guard of a snapshot sync (`missing`): an empty or cut-off feed must not blank the catalog. A clear that
 * would touch more than SYNC_CLEAR_MAX_RATIO (here 0.5) of the records inside `within`, or more than
 * `missing.maxRecords`, is refused with CLEAR_GUARD and nothing of the request is written; `force: true` lets it run.
 */
let t: TestApp;
let taxId: string;
beforeAll(async () => {
  t = await startTestApp();
  taxId = await createTax(t.app, 'Guard tax');
});
afterAll(() => t.close());

const within = (prefix: string) => [{ type: 'prefix', field: 'productNumber', value: prefix }];
const stocks = async (prefix: string) => (await storedRows(t, 'product').where('product_number', 'like', `${prefix}%`).orderBy('product_number').pluck('stock')) as number[];

describe('clear guard', () => {
  it('refuses an empty snapshot feed and writes nothing; force lets it clear', async () => {
    const feed = products(taxId, 10, 0).map((p, i) => ({ ...p, productNumber: `G1-${i}`, stock: 5 }));
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: feed } }).expect(200);
    const empty = { entity: 'product', action: 'upsert', payload: [], missing: { within: within('G1-'), set: { stock: 0 } } };
    const refused = await sync(t.app, { p: empty }).expect(409);
    expect(refused.body.errors).toEqual([
      expect.objectContaining({ code: 'CLEAR_GUARD', status: '409', source: { pointer: '/p/missing' }, meta: expect.objectContaining({ inside: 10, clearing: 10 }) }),
    ]);
    expect(await stocks('G1-')).toEqual(Array(10).fill(5));
    await sync(t.app, { p: { ...empty, missing: { ...empty.missing, force: true } } }).expect(200);
    expect(await stocks('G1-')).toEqual(Array(10).fill(0));
  });

  it('lets a snapshot clear up to the ratio, and refuses one record more, records written by the same request included', async () => {
    const feed = products(taxId, 10, 100).map((p, i) => ({ ...p, productNumber: `G2-${i}`, stock: 5 }));
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: feed } }).expect(200);
    const snapshot = (kept: number) => ({ p: { entity: 'product', action: 'upsert', payload: feed.slice(0, kept).map((p) => ({ ...p, stock: 6 })), missing: { within: within('G2-'), set: { stock: 0 } } } });
    const refused = await sync(t.app, snapshot(4)).expect(409);
    expect(refused.body.errors[0]).toMatchObject({ code: 'CLEAR_GUARD', meta: { inside: 10, clearing: 6 } });
    expect(await stocks('G2-')).toEqual(Array(10).fill(5));
    await sync(t.app, snapshot(5)).expect(200);
    expect(await stocks('G2-')).toEqual([6, 6, 6, 6, 6, 0, 0, 0, 0, 0]);
  });

  it('takes the operation\'s own maxRatio and maxRecords, and refuses bad values with a pointer', async () => {
    const feed = products(taxId, 4, 200).map((p, i) => ({ ...p, productNumber: `G3-${i}`, stock: 5 }));
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: feed } }).expect(200);
    const op = (missing: Record<string, unknown>) => ({ p: { entity: 'product', action: 'upsert', payload: feed.slice(0, 1), missing: { within: within('G3-'), delete: true, ...missing } } });
    const byRecords = await sync(t.app, op({ maxRatio: 1, maxRecords: 2 })).expect(409);
    expect(byRecords.body.errors[0]).toMatchObject({ code: 'CLEAR_GUARD', meta: { inside: 4, clearing: 3 } });
    expect(byRecords.body.errors[0].detail).toContain('maxRecords 2');
    expect(await stocks('G3-')).toHaveLength(4);
    const res = await sync(t.app, op({ maxRatio: 0.75 })).expect(200);
    expect(res.body.deleted.product).toHaveLength(3);
    expect(await stocks('G3-')).toEqual([5]);
    const bad = await sync(t.app, op({ maxRatio: 2, maxRecords: -1, force: 'yes' })).expect(400);
    expect(bad.body.errors.map((e: { source: { pointer: string } }) => e.source.pointer)).toEqual(['/p/missing/maxRatio', '/p/missing/maxRecords', '/p/missing/force']);
  });
});
