import { startTestApp, type TestApp } from '../support/app';
import { createTax, sync } from '../support/sync';
import { products } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('round trips', () => {
  it('probe', async () => {
    const taxId = await createTax(t.app);
    await sync(t.app, { l: { entity: 'language', action: 'upsert', payload: [{ id: 'ae1c7a6e1bd44c3e9c2cfb0f4f4b5c01', name: 'Deutsch', localeCode: 'de-DE' }] } });
    const payload = products(taxId, 100).map((p) => ({ ...p, translations: { 'de-DE': { name: 'x' } } }));
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } });
    t.counter.reset();
    t.counter.recording = true;
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: payload.map((p) => ({ ...p, stock: 5 })) } }, { 'indexing-behavior': 'disable-indexing' });
    t.counter.recording = false;
    expect(res.status).toBe(200);
    console.log(t.counter.count, t.counter.statements.join('\n'));
  });
});
