import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { count, createTax, sync } from '../support/sync';
import { hexId, price } from '../fixtures/catalog';
import { toDbId } from '../../src/definitions/ids';

/**
 * dry-run: true (docs/sync-jobs.md): the request runs in full and is rolled back; it answers what the real request
 * answers, with x-dry-run: true, and leaves nothing behind: no rows, no change-feed entry, no indexing work, no
 * queue job, no webhook delivery, no idempotency key.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** Everything a sync can leave behind, counted. */
async function traces() {
  const jobs = await t.knex.raw(`SELECT count(*)::int AS n FROM graphile_worker.jobs`);
  return {
    product: await count(t.knex, 'product'),
    category: await count(t.knex, 'category'),
    productCategory: await count(t.knex, 'product_category'),
    tax: await count(t.knex, 'tax'),
    changes: await count(t.knex, 'change_log'),
    pending: await count(t.knex, 'bulksync_index_pending'),
    deliveries: await count(t.knex, 'webhook_delivery'),
    keys: await count(t.knex, 'bulksync_idempotency_key'),
    syncJobs: await count(t.knex, 'bulksync_sync_job'),
    queueJobs: jobs.rows[0].n as number,
  };
}

describe('dry-run: true', () => {
  let taxId: string;
  beforeAll(async () => {
    taxId = await createTax(t.app);
    // A webhook for every event: a write that commits leaves a delivery behind; a dry run must not.
    await sync(t.app, { w: { entity: 'webhook', action: 'upsert', payload: [{ name: 'all', eventName: '*', url: 'https://hooks.example.com/in', secret: 'whsec-0123456789abcdef' }] } }).expect(200);
  });

  it('answers exactly what the real request answers (same ids, nested records, queued indexing), and leaves nothing behind', async () => {
    const parent = hexId();
    const child = hexId();
    const p1 = hexId();
    const p2 = hexId();
    const body = {
      categories: { entity: 'category', action: 'upsert', payload: [{ id: parent, name: 'Root' }, { id: child, name: 'Leaf', parentId: parent }] },
      products: {
        entity: 'product',
        action: 'upsert',
        payload: [
          { id: p1, productNumber: 'DRY-1', name: 'Dry one', stock: 1, taxId, price: price(), categories: [{ id: child }] },
          { id: p2, productNumber: 'DRY-2', name: 'Dry two', stock: 2, taxId, price: price() },
        ],
      },
    };
    const headers = { 'indexing-behavior': 'use-queue-indexing', 'x-request-id': 'dry-1', 'Idempotency-Key': 'dry-key-1' };
    const before = await traces();
    const dry = await sync(t.app, body, { ...headers, 'dry-run': 'true' });
    expect(dry.status).toBe(200);
    expect(dry.headers['x-dry-run']).toBe('true');
    expect(await traces()).toEqual(before);

    const real = await sync(t.app, body, headers);
    expect(real.headers['x-dry-run']).toBeUndefined();
    expect({ status: dry.status, body: dry.body, indexing: dry.headers['x-indexing'] }).toEqual({ status: real.status, body: real.body, indexing: real.headers['x-indexing'] });
    // The real run did leave what the dry run did not: rows, feed entries, pending ids, deliveries, its key.
    const after = await traces();
    expect(after.product - before.product).toBe(2);
    expect(after.category - before.category).toBe(2);
    expect(after.productCategory - before.productCategory).toBe(1);
    expect(after.changes).toBeGreaterThan(before.changes);
    expect(after.pending).toBeGreaterThan(before.pending);
    expect(after.deliveries).toBeGreaterThan(before.deliveries);
    expect(after.keys).toBe(before.keys + 1);
  });

  it('answers the same errors, with their pointers, as the real request; both write nothing', async () => {
    const body = {
      ok: { entity: 'tax', action: 'upsert', payload: [{ id: hexId(), name: 'Fine', taxRate: 7 }] },
      bad: { entity: 'product', action: 'upsert', payload: [{ id: hexId(), productNumber: 'DRY-BAD', name: 'x', stock: 'many', taxId: hexId(), price: price() }] },
    };
    const before = await traces();
    const dry = await sync(t.app, body, { 'dry-run': 'true' });
    const real = await sync(t.app, body);
    expect(dry.status).toBe(400);
    expect(dry.headers['x-dry-run']).toBe('true');
    expect({ status: dry.status, body: dry.body }).toEqual({ status: real.status, body: real.body });
    expect(dry.body.errors.map((e: { source: { pointer: string } }) => e.source.pointer)).toContain('/bad/0/stock');
    expect(await traces()).toEqual(before);
  });

  it('with fail-on-error: false: the same partial answer and x-sync-errors; the dry run commits none of it', async () => {
    const good = hexId();
    const body = {
      t: {
        entity: 'tax',
        action: 'upsert',
        payload: [
          { id: good, name: 'Kept', taxRate: 5 },
          { id: hexId(), name: 'Broken', taxRate: 'high' },
        ],
      },
    };
    const before = await traces();
    const dry = await sync(t.app, body, { 'fail-on-error': 'false', 'dry-run': 'true' });
    expect(dry.status).toBe(200);
    expect(dry.headers['x-sync-errors']).toBe('1');
    expect(await traces()).toEqual(before);
    const real = await sync(t.app, body, { 'fail-on-error': 'false' });
    expect({ body: dry.body, errors: dry.headers['x-sync-errors'] }).toEqual({ body: real.body, errors: real.headers['x-sync-errors'] });
    expect(await t.knex('tax').where({ name: 'Kept' }).select('id')).toHaveLength(1);
  });

  it('deletes and cascades run and roll back: the records are still there', async () => {
    const id = hexId();
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ id, name: 'Doomed', taxRate: 3 }] } }).expect(200);
    const dry = await sync(t.app, { d: { entity: 'tax', action: 'delete', payload: [{ id }] } }, { 'dry-run': 'true' });
    expect(dry.status).toBe(200);
    expect(dry.body.deleted).toEqual({ tax: [id] });
    expect(await t.knex('tax').where({ id: toDbId(id) }).first()).toBeDefined();
  });

  it('dry-run: false is a normal request; another value is 400 HEADER_INVALID, with x-dry-run absent and nothing read', async () => {
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'Normal', taxRate: 1 }] } }, { 'dry-run': 'false' });
    expect(res.status).toBe(200);
    expect(res.headers['x-dry-run']).toBeUndefined();
    const bad = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'Never', taxRate: 1 }] } }, { 'dry-run': 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body.errors).toEqual([expect.objectContaining({ code: 'HEADER_INVALID', meta: { header: 'dry-run' } })]);
    expect(bad.body.errors[0].detail).toMatch(/dry-run must be "true" or "false"/);
    expect(await t.knex('tax').where({ name: 'Never' }).first()).toBeUndefined();
  });

  it('an invalid body of a dry run still carries x-dry-run', async () => {
    const res = await request(t.app).post('/api/_action/sync').set('content-type', 'application/json').set('dry-run', 'true').send('{"broken":');
    expect(res.status).toBe(400);
    expect(res.headers['x-dry-run']).toBe('true');
    expect(res.body.errors[0].code).toBe('BODY_NOT_JSON');
  });
});
