import { createHmac } from 'node:crypto';
import request from 'supertest';
import { toDbId } from '../../src/definitions/ids';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { Receiver } from '../support/receiver';
import { sync } from '../support/sync';
import { hexId, EN_LANGUAGE, EUR } from '../fixtures/catalog';

const SECRET = 'a-secret-of-at-least-16';
const receiver = new Receiver();
let base: string;

beforeAll(async () => {
  base = await receiver.start();
});
afterAll(() => receiver.stop());

async function subscribe(t: TestApp, eventName: string, path: string): Promise<string> {
  // One subscriber at a time: a test sees only the deliveries of its own webhook.
  await t.knex('webhook').update({ active: false });
  const id = hexId();
  const res = await sync(t.app, { w: { entity: 'webhook', action: 'upsert', payload: [{ id, name: path, eventName, url: base + path, secret: SECRET }] } });
  expect(res.status).toBe(200);
  return id;
}

/** The webhook's deliveries of events other than webhook.written (a wildcard subscriber also hears of its own creation). */
function deliveries(t: TestApp, webhookId: string) {
  return t.knex('webhook_delivery').where({ webhook_id: toDbId(webhookId) }).whereNot({ entity: 'webhook' }).orderBy(['event_name', 'part']);
}

const taxes = (n: number) => Array.from({ length: n }, (_, i) => ({ id: hexId(), name: `Tax ${i}`, taxRate: 7 }));

describe('webhooks with a receiver on 127.0.0.1 (WEBHOOK_ALLOW_HTTP and WEBHOOK_ALLOW_PRIVATE_NETWORKS on)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_BASE_SECONDS: '0.2',
      WEBHOOK_RETRY_HOURS: '1',
    });
    await t.startWorker();
  });
  afterAll(() => t.close());

  it('delivers the written keys, signed with the secret, with a stable delivery id', async () => {
    const webhookId = await subscribe(t, 'tax.written', '/ok');
    const written = taxes(2);
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: written } }, { 'x-request-id': 'req-signed-1' });
    expect(res.status).toBe(200);
    const got = await until(async () => receiver.at('/ok'), (r) => r.length >= 1);
    expect(got).toHaveLength(1);
    const [hit] = got;
    const body = JSON.parse(hit!.raw);
    expect(body).toMatchObject({ event: 'tax.written', entity: 'tax', requestId: 'req-signed-1' });
    expect(body.keys.sort()).toEqual(written.map((w) => w.id).sort());
    expect(hit!.headers['content-type']).toBe('application/json');
    expect(hit!.headers['x-bulksync-event']).toBe('tax.written');
    expect(hit!.headers['x-bulksync-delivery']).toBe(body.deliveryId);
    const expected = 'sha256=' + createHmac('sha256', SECRET).update(hit!.raw).digest('hex');
    expect(hit!.headers['x-bulksync-signature']).toBe(expected);

    const rows = await until(() => deliveries(t, webhookId), (r) => r[0]?.status === 'delivered');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: 'delivered', attempts: 1, response_status: 200 });
    expect(rows[0].id.replace(/-/g, '')).toBe(body.deliveryId);
    const hook = await t.knex('webhook').where({ id: toDbId(webhookId) }).first();
    expect(hook.last_delivered_at).not.toBeNull();
  });

  it('keeps the secret encrypted at rest and never answers it', async () => {
    const webhookId = await subscribe(t, 'country.written', '/unused');
    const row = await t.knex('webhook').where({ id: toDbId(webhookId) }).first();
    expect(row.secret).not.toContain(SECRET);
    expect(row.secret).toMatch(/^v1:/);
    const res = await request(t.app).get(`/api/webhook/${webhookId}`);
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain(SECRET);
    expect(JSON.stringify(res.body)).not.toContain(row.secret);
    expect(res.body.data).toMatchObject({ eventName: 'country.written', active: true, errorCount: 0 });
  });

  it('retries after the receiver answers 500 twice, with the same delivery id', async () => {
    receiver.answer('/flaky', 500, 500);
    const webhookId = await subscribe(t, 'tax.deleted', '/flaky');
    const [a] = taxes(1);
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [a] } }).expect(200);
    await sync(t.app, { t: { entity: 'tax', action: 'delete', payload: [{ id: a!.id }] } }).expect(200);
    const rows = await until(() => deliveries(t, webhookId), (r) => r[0]?.status === 'delivered');
    expect(rows[0]).toMatchObject({ status: 'delivered', attempts: 3, response_status: 200, last_error: null });
    const hits = receiver.at('/flaky');
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.headers['x-bulksync-delivery'])).size).toBe(1);
    expect(JSON.parse(hits[2]!.raw)).toMatchObject({ event: 'tax.deleted', keys: [a!.id] });
  });

  it('queues nothing for a rolled-back request, nor with sw-skip-trigger-flow', async () => {
    const webhookId = await subscribe(t, '*', '/never');
    // The tax is written, then the product's unknown tax fails the request: all of it is rolled back.
    const res = await sync(t.app, {
      t: { entity: 'tax', action: 'upsert', payload: taxes(1) },
      p: { entity: 'product', action: 'upsert', payload: [{ productNumber: 'X-1', name: 'x', stock: 1, taxId: hexId(), price: [{ currencyId: EUR, gross: 1, net: 1, linked: true }] }] },
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: taxes(3) } }, { 'sw-skip-trigger-flow': '1' }).expect(200);
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: taxes(3) } }, { 'sw-skip-trigger-flow': 'true' }).expect(200);
    expect(await deliveries(t, webhookId)).toEqual([]);
    // A request that emits does get its delivery, after those that did not.
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: taxes(1) } }).expect(200);
    const rows = await until(() => deliveries(t, webhookId), (r) => r[0]?.status === 'delivered');
    expect(rows.map((r) => [r.event_name, r.keys.length])).toEqual([['tax.written', 1]]);
    expect(receiver.at('/never').filter((h) => JSON.parse(h.raw).entity === 'tax')).toHaveLength(1);
  });

  it('splits an event into parts of at most 1,000 keys, one job each', async () => {
    const webhookId = await subscribe(t, '*.written', '/split');
    const written = taxes(2500);
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: written } }).expect(200);
    const rows = await until(() => deliveries(t, webhookId), (r) => r.length === 3 && r.every((d) => d.status === 'delivered'));
    expect(rows.map((r) => [r.part, r.keys.length])).toEqual([[1, 1000], [2, 1000], [3, 500]]);
    const sent = receiver.at('/split').filter((h) => JSON.parse(h.raw).entity === 'tax').flatMap((h) => JSON.parse(h.raw).keys as string[]);
    expect(sent.sort()).toEqual(written.map((w) => w.id).sort());
  });

  it('reports nested records and mapping rows as written, cascades as deleted, mapping keys as objects', async () => {
    const webhookId = await subscribe(t, '*', '/nested');
    const [taxId, productId, categoryId] = [hexId(), hexId(), hexId()];
    await sync(t.app, {
      t: { entity: 'tax', action: 'upsert', payload: [{ id: taxId, name: 'Nested', taxRate: 7 }] },
      p: {
        entity: 'product',
        action: 'upsert',
        payload: [{ id: productId, productNumber: 'N-1', name: 'n', stock: 1, taxId, price: [{ currencyId: EUR, gross: 1, net: 1, linked: true }], categories: [{ id: categoryId, name: 'Shirts' }] }],
      },
    }).expect(200);
    await sync(t.app, { d: { entity: 'product', action: 'delete', payload: [{ id: productId }] } }).expect(200);
    const rows = await until(() => deliveries(t, webhookId), (r) => r.length === 9 && r.every((d) => d.status === 'delivered'));
    const byEvent = Object.fromEntries(rows.map((r) => [r.event_name, r.keys]));
    // Translation rows have events of their own, keyed like mapping rows (Shopware's product_translation.written).
    expect(byEvent).toEqual({
      'tax.written': [taxId],
      'product.written': [productId],
      'product_translation.written': [{ productId, languageId: EN_LANGUAGE }],
      'category.written': [categoryId],
      'category_translation.written': [{ categoryId, languageId: EN_LANGUAGE }],
      'product_category.written': [{ productId, categoryId }],
      'product.deleted': [productId],
      'product_translation.deleted': [{ productId, languageId: EN_LANGUAGE }],
      'product_category.deleted': [{ productId, categoryId }],
    });
  });

  it('reports the events of what was written under fail-on-error: false', async () => {
    const webhookId = await subscribe(t, 'tax.written', '/partial');
    const good = taxes(2);
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [...good, { name: 'no rate' }] } }, { 'fail-on-error': 'false' });
    expect(res.status).toBe(200);
    const rows = await until(() => deliveries(t, webhookId), (r) => r[0]?.status === 'delivered');
    expect([...rows[0].keys].sort()).toEqual(good.map((g) => g.id).sort());
  });

  it('refuses writes to the read-only delivery log, and lets it be searched', async () => {
    const res = await sync(t.app, { d: { entity: 'webhook_delivery', action: 'delete', payload: [{ id: hexId() }] } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'ENTITY_READ_ONLY', source: { pointer: '/d/entity' } });
    const search = await request(t.app).post('/api/search/webhook_delivery').send({ filter: [{ type: 'equals', field: 'status', value: 'delivered' }] });
    expect(search.status).toBe(200);
    expect(search.body.data.length).toBeGreaterThan(0);
  });

  it('exposes deliveries by status, the queue lag and the delivery latency on /metrics', async () => {
    const delivered = await t.knex('webhook_delivery').where({ status: 'delivered' }).count<{ count: string }[]>('* as count');
    const res = await request(t.bare).get('/metrics').expect(200);
    expect(res.text).toContain(`bulksync_webhook_deliveries{status="delivered"} ${delivered[0]!.count}`);
    expect(res.text).toMatch(/bulksync_webhook_queue_lag_seconds \d/);
    expect(res.text).toMatch(/bulksync_webhook_delivery_latency_seconds\{stat="max"\} \d/);
  });
});

describe('giving up', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      WEBHOOK_ALLOW_HTTP: 'true',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_BASE_SECONDS: '0.2',
      // 1.8 s: a few attempts, then the delivery is given up.
      WEBHOOK_RETRY_HOURS: String(1.8 / 3600),
      WEBHOOK_MAX_CONSECUTIVE_FAILURES: '2',
    });
    await t.startWorker();
  });
  afterAll(() => t.close());

  it('gives a delivery up after WEBHOOK_RETRY_HOURS, counts it, and deactivates the webhook after the maximum in a row', async () => {
    receiver.answerAlways('/down', 503);
    const webhookId = await subscribe(t, 'tax.written', '/down');
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: taxes(1) } }).expect(200);
    const first = await until(() => deliveries(t, webhookId), (r) => r[0]?.status === 'failed');
    expect(first[0]).toMatchObject({ status: 'failed', response_status: 503, last_error: 'the receiver answered HTTP 503' });
    expect(first[0].attempts).toBeGreaterThan(1);
    let hook = await t.knex('webhook').where({ id: toDbId(webhookId) }).first();
    expect(hook).toMatchObject({ error_count: 1, active: true, last_error: 'the receiver answered HTTP 503' });

    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: taxes(1) } }).expect(200);
    await until(() => deliveries(t, webhookId), (r) => r.length === 2 && r.every((d) => d.status === 'failed'));
    hook = await t.knex('webhook').where({ id: toDbId(webhookId) }).first();
    expect(hook).toMatchObject({ error_count: 2, active: false });
    const read = await request(t.app).get(`/api/webhook/${webhookId}`);
    expect(read.body.data).toMatchObject({ active: false, errorCount: 2, lastError: 'the receiver answered HTTP 503' });

    // Inactive: no more deliveries.
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: taxes(1) } }).expect(200);
    expect(await deliveries(t, webhookId)).toHaveLength(2);
  });
});

describe('URL safety with the switches off (the defaults)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it.each([
    ['http://example.com/hook', /https URL/],
    ['https://127.0.0.1/hook', /loopback, private/],
    ['https://localhost:8443/hook', /loopback, private/],
    ['https://169.254.169.254/latest/meta-data', /loopback, private/],
    ['https://10.1.2.3/hook', /loopback, private/],
    ['https://[::1]/hook', /loopback, private/],
    ['https://metadata.google.internal/x', /loopback, private/],
  ])('refuses %s with a pointer at the url', async (url, why) => {
    const res = await sync(t.app, { w: { entity: 'webhook', action: 'upsert', payload: [{ name: 'x', eventName: '*', url, secret: SECRET }] } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/w/0/url' } });
    expect(res.body.errors[0].detail).toMatch(why);
  });

  it('checks the address again at delivery: a webhook that points at a private address by now is not called', async () => {
    const hooks = await startTestApp({ WEBHOOK_ALLOW_HTTP: 'true' });
    try {
      await hooks.startWorker();
      const id = hexId();
      // Written past the API (as by an older version, or before the switch was turned off).
      await hooks.knex('webhook').insert({ id: toDbId(id), name: 'old', event_name: 'tax.written', url: `${base}/private`, secret: hooks.registry.fieldCipher().seal(SECRET) });
      await sync(hooks.app, { t: { entity: 'tax', action: 'upsert', payload: taxes(1) } }).expect(200);
      const rows = await until(() => deliveries(hooks, id), (r) => r[0]?.status === 'retrying');
      expect(rows[0]).toMatchObject({ status: 'retrying', attempts: 1, response_status: null });
      expect(rows[0].last_error).toMatch(/^address refused: 127\.0\.0\.1 is a loopback, private/);
      expect(receiver.at('/private')).toEqual([]);
    } finally {
      await hooks.close();
    }
  });

  it('describes both entities in the OpenAPI document: the secret write-only, the delivery log not writable', async () => {
    const doc = (await request(t.app).get('/api/_info/openapi.json').expect(200)).body;
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas.webhook.properties)).toEqual(expect.arrayContaining(['name', 'eventName', 'url', 'active', 'errorCount', 'lastError']));
    expect(schemas.webhook.properties.secret).toBeUndefined();
    expect(schemas['webhook.write'].properties.secret).toMatchObject({ writeOnly: true });
    expect(schemas.webhook_delivery.properties.status).toBeDefined();
    const operations = JSON.stringify(schemas.SyncOperation.oneOf);
    expect(operations).toContain('webhook.upsert');
    expect(operations).not.toContain('webhook_delivery');
  });

  it('accepts a public https URL, and refuses a short secret', async () => {
    const ok = await sync(t.app, { w: { entity: 'webhook', action: 'upsert', payload: [{ name: 'x', eventName: 'product.written', url: 'https://hooks.example.com/in', secret: SECRET }] } });
    expect(ok.status).toBe(200);
    const short = await sync(t.app, { w: { entity: 'webhook', action: 'upsert', payload: [{ name: 'x', eventName: '*', url: 'https://hooks.example.com/in', secret: 'short' }] } });
    expect(short.status).toBe(400);
    expect(short.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/w/0/secret' } });
  });
});
