import { toDbId as dashed } from '../../src/definitions/ids';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { count, sync } from '../support/sync';

/**
 * The engine is generic: the point-of-sale example (examples/pos-inventory) is loaded next to the catalog from
 * its own schema and migration directories, with nothing in src/ knowing it.
 */
const EXAMPLE = path.join(ROOT, 'examples/pos-inventory');
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    SCHEMAS_DIR: `${path.join(ROOT, 'schemas')},${path.join(EXAMPLE, 'schemas')}`,
    MIGRATIONS_DIR: `${path.join(ROOT, 'migrations')},${path.join(EXAMPLE, 'migrations')}`,
  });
});
afterAll(() => t.close());

function items(n: number, stock: (i: number) => number, skip = new Set<number>()) {
  return Array.from({ length: n }, (_, i) => i)
    .filter((i) => !skip.has(i))
    .map((i) => ({
      externalId: `A-${String(i).padStart(4, '0')}`,
      name: `Article ${i}`,
      price: 1 + i / 100,
      inStock: stock(i),
      barcodes: [{ code: `40000${String(i).padStart(8, '0')}` }, { code: `99${String(i).padStart(8, '0')}` }],
    }));
}

async function stockOf(storeId: string): Promise<Map<string, number>> {
  const rows = await t.knex('store_item').where({ store_id: dashed(storeId) }).select('external_id', 'in_stock');
  return new Map(rows.map((r: { external_id: string; in_stock: number }) => [r.external_id, r.in_stock]));
}

describe('point-of-sale inventory, a second schema set', () => {
  let s1: string;
  let s2: string;

  it('no file under src/ mentions the example entities', () => {
    const walk = (dir: string): string[] =>
      fs.readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(path.join(dir, d.name)) : [path.join(dir, d.name)]));
    const hits = walk(path.join(ROOT, 'src')).filter((f) => /store_item|store_item_barcode/i.test(fs.readFileSync(f, 'utf8')));
    expect(hits).toEqual([]);
    expect(t.registry.names()).toEqual(expect.arrayContaining(['store', 'store_item', 'store_item_barcode', 'product']));
  });

  it('pushes 1,000 items for a store by external id, with nested barcodes', async () => {
    const res = await sync(t.app, {
      stores: {
        entity: 'store',
        action: 'upsert',
        payload: [
          { externalId: 'S1', name: 'Main street', items: items(1000, () => 5) },
          { externalId: 'S2', name: 'Station', items: items(20, () => 7) },
        ],
      },
    }).expect(200);
    [s1, s2] = res.body.data.store;
    expect(res.body.data.store_item).toHaveLength(1020);
    expect(res.body.data.store_item_barcode).toHaveLength(2040);
    expect(await count(t.knex, 'store_item')).toBe(1020);
    expect([...(await stockOf(s1!)).values()].every((s) => s === 5)).toBe(true);
  });

  it('pushes again with changed stock, clearing the 10 items it left out, in that store only', async () => {
    const left = new Set([3, 77, 150, 151, 152, 400, 512, 700, 901, 999]);
    const again = items(1000, (i) => i % 13, left).map((it) => ({ ...it, storeId: s1 }));
    const before = await count(t.knex, 'store_item_barcode');
    const res = await sync(t.app, {
      hourly: {
        entity: 'store_item',
        action: 'upsert',
        payload: again,
        missing: { within: [{ type: 'equals', field: 'storeId', value: s1 }], set: { inStock: 0 } },
      },
    }).expect(200);
    expect(res.body.data.store_item).toHaveLength(1000);
    // Same items and barcodes as before, matched by (storeId, externalId) and (itemId, code): nothing duplicated.
    expect(await count(t.knex, 'store_item')).toBe(1020);
    expect(await count(t.knex, 'store_item_barcode')).toBe(before);
    const stock = await stockOf(s1!);
    for (let i = 0; i < 1000; i++) {
      const id = `A-${String(i).padStart(4, '0')}`;
      expect([id, stock.get(id)]).toEqual([id, left.has(i) ? 0 : i % 13]);
    }
    const outOfStock = [...stock.entries()].filter(([, s]) => s === 0).map(([id]) => id);
    expect(outOfStock.filter((id) => left.has(Number(id.slice(2))))).toHaveLength(10);
    expect([...(await stockOf(s2!)).values()].every((s) => s === 7)).toBe(true);
  });

  it('finds an item by its composite key with a resolver', async () => {
    const res = await sync(t.app, {
      codes: {
        entity: 'store_item_barcode',
        action: 'upsert',
        payload: [{ code: 'EXTRA-1', itemId: { resolver: 'store_item.storeId+externalId', value: { storeId: s2, externalId: 'A-0003' } } }],
      },
    }).expect(200);
    expect(res.body.data.store_item_barcode).toHaveLength(1);
    const row = await t.knex('store_item_barcode as b').join('store_item as i', 'i.id', 'b.item_id').where('b.code', 'EXTRA-1').first('i.external_id', 'i.store_id');
    expect(row).toEqual({ external_id: 'A-0003', store_id: dashed(s2!) });
    const missing = await sync(t.app, {
      codes: {
        entity: 'store_item_barcode',
        action: 'upsert',
        payload: [{ code: 'EXTRA-2', itemId: { resolver: 'store_item.storeId+externalId', value: { storeId: s2, externalId: 'NOPE' } } }],
      },
    }).expect(400);
    expect(missing.body.errors[0]).toMatchObject({ code: 'REFERENCE_UNRESOLVED', source: { pointer: '/codes/0/itemId' } });
  });

  it('deletes a store and reports the cascade', async () => {
    const res = await sync(t.app, { close: { entity: 'store', action: 'delete', payload: [{ id: s2 }] } }).expect(200);
    expect(res.body.deleted.store).toEqual([s2]);
    expect(res.body.deleted.store_item).toHaveLength(20);
    expect(res.body.deleted.store_item_barcode).toHaveLength(41);
    expect(await count(t.knex, 'store_item')).toBe(1000);
  });
});
