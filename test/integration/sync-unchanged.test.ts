import { startTestApp, type TestApp } from '../support/app';
import { createTax, sync } from '../support/sync';
import { hexId, products } from '../fixtures/catalog';
import { toDbId } from '../../src/definitions/ids';

/**
 * A record sent exactly as it is stored is not written: no row version, no change-feed entry, no indexing work, no
 * webhook event. The answer still lists it under data; Prefer: return=minimal counts it under unchanged.
 */
let t: TestApp;
let taxId: string;
beforeAll(async () => {
  t = await startTestApp();
  taxId = await createTax(t.app, 'Unchanged tax');
});
afterAll(() => t.close());

const feedRows = async (ids: readonly string[]) =>
  Number((await t.knex.raw(`SELECT count(*)::int AS n FROM change_log WHERE entity IN ('product', 'product_translation') AND (key->>'id' = ANY(?) OR key->>'product_id' = ANY(?))`, [ids.map(toDbId), ids.map(toDbId)])).rows[0].n);
const versions = async (ids: readonly string[]) =>
  (await t.knex.raw(`SELECT id::text, xmin::text AS v FROM product WHERE id = ANY(?::uuid[]) ORDER BY id`, [ids.map(toDbId)])).rows as { id: string; v: string }[];
const jobs = async () => Number((await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs`)).rows[0].n);

describe('re-sending what is stored', () => {
  it('lists every record under data, counts the unchanged ones, and writes nothing for them', async () => {
    const payload = products(taxId, 30, 7000).map((p) => ({ ...p, description: "same", customFields: { a: 1 } }) as Record<string, unknown>);
    const ids = payload.map((p) => p.id as string);
    const first = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }).expect(200);
    expect(first.body.data.product).toEqual(ids);
    const feedBefore = await feedRows(ids);
    expect(feedBefore).toBeGreaterThanOrEqual(60);
    const stored = await versions(ids);

    // The same records again, in another order and with the customFields key given again (merged, equal).
    const again = [...payload].reverse();
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: again } }).expect(200);
    expect(res.body.data.product).toEqual(again.map((p) => p.id));
    expect(res.body.data.product_translation).toHaveLength(30);
    expect(await feedRows(ids)).toBe(feedBefore);
    expect(await versions(ids)).toEqual(stored);

    const minimal = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, { prefer: 'return=minimal' }).expect(200);
    expect(minimal.body.counts.data).toEqual({ product: 30, product_translation: 30 });
    expect(minimal.body.counts.unchanged).toEqual({ product: 30, product_translation: 30 });
  });

  it('writes only the records that differ, and only those reach the change feed', async () => {
    const payload = products(taxId, 20, 7100);
    const ids = payload.map((p) => p.id as string);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }).expect(200);
    const feedBefore = await feedRows(ids);
    const stored = await versions(ids);
    const changed = payload.map((p, i) => (i < 5 ? { ...p, stock: 99 } : p));
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: changed } }, { prefer: 'return=minimal' }).expect(200);
    expect(res.body.counts.data.product).toBe(20);
    expect(res.body.counts.unchanged.product).toBe(15);
    expect(res.body.counts.unchanged.product_translation).toBe(20);
    expect(await feedRows(ids)).toBe(feedBefore + 5);
    const after = await versions(ids);
    const moved = after.filter((r, i) => r.v !== stored[i]!.v).map((r) => r.id);
    expect(moved.sort()).toEqual(ids.slice(0, 5).map((id) => toDbId(id)).sort());
  });

  it('counts a record whose row is stored as sent but whose translation changed as written', async () => {
    const payload = products(taxId, 2, 7400);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }).expect(200);
    const renamed = [{ ...payload[0], name: 'New name' }, payload[1]];
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: renamed } }, { prefer: 'return=minimal' }).expect(200);
    expect(res.body.counts.unchanged).toEqual({ product: 1, product_translation: 1 });
  });

  it('queues no indexing work for unchanged records', async () => {
    const payload = products(taxId, 10, 7200);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, { 'indexing-behavior': 'use-queue-indexing' }).expect(200);
    const before = await jobs();
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, { 'indexing-behavior': 'use-queue-indexing' }).expect(200);
    expect(res.headers['x-indexing']).toBe('queued 0');
    expect(await jobs()).toBe(before);
    // One changed record: work again.
    const changed = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ ...payload[0], name: 'Renamed' }] } }, { 'indexing-behavior': 'use-queue-indexing' }).expect(200);
    expect(changed.headers['x-indexing']).not.toBe('queued 0');
  });

  it('emits no webhook event for unchanged records', async () => {
    const webhookId = hexId();
    await t.knex('webhook').update({ active: false });
    await sync(t.app, { w: { entity: 'webhook', action: 'upsert', payload: [{ id: webhookId, name: 'unchanged', eventName: 'product.written', url: 'https://hooks.example.com/x', secret: 'a-secret-of-some-length' }] } }).expect(200);
    const deliveries = async () => Number((await t.knex('webhook_delivery').where({ webhook_id: toDbId(webhookId) }).count<{ n: number }[]>('* as n'))[0]!.n);
    const payload = products(taxId, 3, 7300);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }).expect(200);
    expect(await deliveries()).toBe(1);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }).expect(200);
    expect(await deliveries()).toBe(1);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ ...payload[1], stock: 42 }] } }).expect(200);
    const rows = await t.knex('webhook_delivery').where({ webhook_id: toDbId(webhookId) }).orderBy('occurred_at');
    expect(rows).toHaveLength(2);
    expect(rows[1].keys).toEqual([payload[1]!.id]);
  });

  it('never clears an unchanged record named by its external id in a snapshot sync', async () => {
    const payload = Array.from({ length: 5 }, (_, i) => ({ externalId: `ERP-U-${i}`, productNumber: `ERP-U-${i}`, name: `ERP ${i}`, stock: 3, price: products(taxId, 1)[0]!.price, taxId }));
    const op = { entity: 'product', action: 'upsert', payload, missing: { within: [{ type: 'prefix', field: 'productNumber', value: 'ERP-U-' }], set: { stock: 0 } } };
    await sync(t.app, { p: op }).expect(200);
    const res = await sync(t.app, { p: op }, { prefer: 'return=minimal' }).expect(200);
    expect(res.body.counts.unchanged.product).toBe(5);
    const stocks = await t.knex('product').where('product_number', 'like', 'ERP-U-%').pluck('stock');
    expect(stocks).toEqual([3, 3, 3, 3, 3]);
  });
});
