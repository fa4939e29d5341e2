import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { createTax, storedRows, sync } from '../support/sync';
import { DE_LANGUAGE, hexId, product } from '../fixtures/catalog';
import { PREVIEW_MAX_RECORDS } from '../../src/sync/preview-types';
import { until } from '../support/poll';
import { Integrations } from '../../src/auth/integrations';

/**
 * The preview of a dry run (`dry-run: true` with `Prefer: return=representation`): beside the usual answer, what the
 * request would change, per entity and per record, with the fields that change (API names and spelling, translated
 * fields in the request's language). Nothing is written.
 */
let t: TestApp;
let taxId: string;
beforeAll(async () => {
  t = await startTestApp();
  taxId = await createTax(t.app, 'Preview tax');
});
afterAll(() => t.close());

const PREVIEW = { 'dry-run': 'true', prefer: 'return=representation' };
const within = (prefix: string) => [{ type: 'prefix', field: 'productNumber', value: prefix }];

/**
 * Stored: A (to update), B (sent unchanged), D and E (not sent: the snapshot clear sets D's stock to 0; E's is 0
 * already), and C outside the snapshot's scope (deleted by the second operation).
 */
async function mixedCatalog(prefix: string) {
  const [a, b, c, d, e] = ['A', 'B', 'C', 'D', 'E'].map((n, i) => product(taxId, i, { productNumber: n === 'C' ? `${prefix}C` : `${prefix}-${n}`, name: `${n} name`, stock: 5 }));
  await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [a, b, c, d, e] } }).expect(200);
  await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: e!.id, stock: 0 }] } }).expect(200);
  const created = product(taxId, 9, { productNumber: `${prefix}-N`, name: 'New name' });
  const body = {
    up: {
      entity: 'product',
      action: 'upsert',
      payload: [created, { ...a, name: 'A renamed', stock: 7 }, b],
      missing: { within: within(`${prefix}-`), set: { stock: 0 }, force: true },
    },
    del: { entity: 'product', action: 'delete', payload: [{ id: c!.id }] },
  };
  return { a: a!, b: b!, c: c!, d: d!, e: e!, created, body };
}

const sorted = <T extends { pointer: string }>(list: T[]) => [...list].sort((x, y) => x.pointer.localeCompare(y.pointer) || JSON.stringify(x).localeCompare(JSON.stringify(y)));

describe('preview', () => {
  it('answers a mixed request with its changes per entity and per record, and writes nothing', async () => {
    const { a, b, c, d, created, body } = await mixedCatalog('PV1');
    const before = await storedRows(t, 'product').where('product_number', 'like', 'PV1%').orderBy('product_number');
    const res = await sync(t.app, body, PREVIEW).expect(200);
    expect(res.headers['x-dry-run']).toBe('true');
    expect(res.headers['preference-applied']).toBe('return=representation');
    // The usual answer is there as ever.
    expect(res.body.data.product).toEqual(expect.arrayContaining([created.id, a.id, b.id]));
    expect(res.body.deleted.product).toEqual([c.id]);
    expect(res.body.changes).toEqual({ product: { created: 1, updated: 1, unchanged: 1, deleted: 1, cleared: { records: 1, fields: ['stock'] } } });
    expect(res.body.recordsOmitted).toBe(0);
    expect(sorted(res.body.records)).toEqual(
      sorted([
        { pointer: '/up/0', entity: 'product', key: created.id, change: 'create', fields: expect.objectContaining({ name: { from: null, to: 'New name' }, productNumber: { from: null, to: 'PV1-N' }, taxId: { from: null, to: taxId } }) },
        { pointer: '/up/1', entity: 'product', key: a.id, change: 'update', fields: { name: { from: 'A name', to: 'A renamed' }, stock: { from: 5, to: 7 } } },
        { pointer: '/up/2', entity: 'product', key: b.id, change: 'unchanged', fields: {} },
        { pointer: '/up/missing', entity: 'product', key: d.id, change: 'clear', fields: { stock: { from: 5, to: 0 } } },
        { pointer: '/del/0', entity: 'product', key: c.id, change: 'delete', fields: {} },
      ]),
    );
    expect(await storedRows(t, 'product').where('product_number', 'like', 'PV1%').orderBy('product_number')).toEqual(before);
  });

  it('shows translated fields in the request\'s language', async () => {
    const p = product(taxId, 1, { productNumber: 'PV2-1', name: 'English' });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, name: 'Deutsch' }] } }, { 'sw-language-id': DE_LANGUAGE }).expect(200);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, name: 'Neu' }] } }, { ...PREVIEW, 'sw-language-id': DE_LANGUAGE }).expect(200);
    expect(res.body.records).toEqual([{ pointer: '/p/0', entity: 'product', key: p.id, change: 'update', fields: { name: { from: 'Deutsch', to: 'Neu' } } }]);
  });

  it('streams as NDJSON: the answer and its summary first, then one line per record', async () => {
    const { a, body } = await mixedCatalog('PV3');
    const res = await sync(t.app, body, { ...PREVIEW, accept: 'application/x-ndjson' })
      .buffer(true)
      .parse((r, done) => {
        let text = '';
        r.on('data', (c: Buffer) => (text += c.toString()));
        r.on('end', () => done(null, text));
      })
      .expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const lines = (res.body as string).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].changes).toEqual({ product: { created: 1, updated: 1, unchanged: 1, deleted: 1, cleared: { records: 1, fields: ['stock'] } } });
    expect(lines[0].data.product).toHaveLength(5);
    expect(lines[0].records).toBeUndefined();
    expect(lines.slice(1)).toHaveLength(5);
    expect(lines.slice(1)).toContainEqual({ pointer: '/up/1', entity: 'product', key: a.id, change: 'update', fields: { name: { from: 'A name', to: 'A renamed' }, stock: { from: 5, to: 7 } } });
  });

  it('is the result of an async job', async () => {
    const { a, body } = await mixedCatalog('PV4');
    const submitted = await sync(t.app, body, { ...PREVIEW, prefer: 'respond-async, return=representation' }).expect(202);
    const worker = await t.startWorker();
    try {
      const job = await until(async () => (await request(t.app).get(submitted.headers.location!).expect(200)).body, (b) => b.status === 'succeeded' || b.status === 'failed');
      expect(job.status).toBe('succeeded');
      expect(job.result.changes).toEqual({ product: { created: 1, updated: 1, unchanged: 1, deleted: 1, cleared: { records: 1, fields: ['stock'] } } });
      expect(job.result.records).toContainEqual(expect.objectContaining({ pointer: '/up/1', key: a.id, change: 'update' }));
    } finally {
      await worker.stop();
    }
  });

  it('caps the per-record list of a JSON answer; the summary stays whole', async () => {
    const n = PREVIEW_MAX_RECORDS + 5;
    const payload = Array.from({ length: n }, (_, i) => ({ id: hexId(), productNumber: `PV5-${i}`, name: `P ${i}`, stock: 1, price: [{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: 1, net: 1, linked: true }], taxId }));
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload } }, PREVIEW).expect(200);
    expect(res.body.changes.product).toEqual({ created: n, updated: 0, unchanged: 0, deleted: 0 });
    expect(res.body.records).toHaveLength(PREVIEW_MAX_RECORDS);
    expect(res.body.recordsOmitted).toBe(5);
  });

  it('shows no stored values to an integration that may write the entity but not read it', async () => {
    const p = product(taxId, 1, { productNumber: 'PV7-1', name: 'Secret', stock: 3 });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const { integration, secret } = await new Integrations(t.knex).create({ name: 'write-only', privileges: ['product:upsert'] });
    const token = (await request(t.bare).post('/api/oauth/token').send({ grant_type: 'client_credentials', client_id: integration.clientId, client_secret: secret }).expect(200)).body.access_token;
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, stock: 4 }] } }, { ...PREVIEW, authorization: `Bearer ${token}` }).expect(200);
    expect(res.body.changes).toEqual({ product: { created: 0, updated: 1, unchanged: 0, deleted: 0 } });
    expect(res.body.records).toEqual([{ pointer: '/p/0', entity: 'product', key: p.id, change: 'update', fields: {} }]);
  });

  it('leaves answers alone without dry-run or without return=representation', async () => {
    const p = product(taxId, 1, { productNumber: 'PV6-1' });
    const dry = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { 'dry-run': 'true' }).expect(200);
    expect(Object.keys(dry.body).sort()).toEqual(['data', 'deleted', 'extensions', 'notFound']);
    const real = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }, { prefer: 'return=representation' }).expect(200);
    expect(Object.keys(real.body).sort()).toEqual(['data', 'deleted', 'extensions', 'notFound']);
    expect(real.headers['preference-applied']).toBeUndefined();
  });
});
