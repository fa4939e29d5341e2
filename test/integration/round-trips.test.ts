import { startTestApp, type TestApp } from '../support/app';
import { createTax, sync } from '../support/sync';
import { products } from '../fixtures/catalog';

/**
 * Round trips to PostgreSQL of a small request: the rate-limit store, one read of the cached rows' version, BEGIN
 * with the locks and the savepoint, one statement per table, COMMIT. Counted on the app's pool (every statement a
 * client sends is one round trip: node-pg sends one at a time).
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const DE = 'ae1c7a6e1bd44c3e9c2cfb0f4f4b5c01';

describe('round trips of a 100-record product request with translations', () => {
  // Inline indexing adds one round trip per indexer with work (its lock and its recomputation go together), here the
  // products' search keywords only: 6 + 1. Products without categories give the category-tree indexer nothing to do
  // (it was 6 + 2 while it ran on every product write, and 6 + 4 with a round trip each for lock and recompute).
  it.each([
    ['disable-indexing', 8],
    ['use-queue-indexing', 8],
    ['inline (no header)', 7],
  ] as const)('are at most N with %s, on the insert pass and on the update pass (N = %d)', async (indexing, most) => {
    const taxId = await createTax(t.app, `RT ${indexing}`);
    await sync(t.app, { l: { entity: 'language', action: 'upsert', payload: [{ id: DE, name: 'Deutsch (RT)', localeCode: 'de-RT' }] } }).expect(200);
    // The first request after a language was added reads the cached rows again; the ones after it do not.
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'Warm', taxRate: 1 }] } }).expect(200);
    const payload = products(taxId, 100, { 'disable-indexing': 9000, 'use-queue-indexing': 9200, 'inline (no header)': 9600 }[indexing]).map((p) => ({ ...p, translations: { 'de-RT': { name: `${p.name as string} (de)` } } }));
    t.counter.recording = true;
    try {
      for (const pass of [payload, payload.map((p) => ({ ...p, stock: 7 }))]) {
        t.counter.reset();
        const headers: Record<string, string> = indexing.startsWith('inline') ? {} : { 'indexing-behavior': indexing };
        const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: pass } }, headers).expect(200);
        expect(res.body.data.product).toHaveLength(100);
        expect(res.body.data.product_translation).toHaveLength(200);
        expect({ count: t.counter.count, statements: t.counter.statements }).toEqual({ count: t.counter.statements.length, statements: expect.any(Array) });
        if (t.counter.count > most) throw new Error(`${t.counter.count} round trips:\n${t.counter.statements.join('\n')}`);
      }
    } finally {
      t.counter.recording = false;
    }
  });

  it('read the cached languages again once one was added (another process may have added it)', async () => {
    const taxId = await createTax(t.app, 'RT 2');
    const code = 'xx-RT';
    // Written straight into the table, as another process (or a migration) would: the version trigger moves.
    await t.knex('language').insert({ id: 'be1c7a6e1bd44c3e9c2cfb0f4f4b5c02', name: 'Extra', locale_code: code });
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: products(taxId, 1, 9500).map((p) => ({ ...p, translations: { [code]: { name: 'x' } } })) } });
    expect(res.status).toBe(200);
  });
});
