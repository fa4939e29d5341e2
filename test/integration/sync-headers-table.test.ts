import request from 'supertest';
import { SYNC_HEADERS } from '../../src/sync/options';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { sync } from '../support/sync';
import { DE_LANGUAGE, hexId } from '../fixtures/catalog';

/**
 * The sync route's headers are declared once (src/sync/options.ts): an async job and an idempotent replay read the
 * same table as the route, so they mean what the route means, and the OpenAPI document lists them all.
 */
let t: TestApp;
let DE: string;
beforeAll(async () => {
  t = await startTestApp({ WORKER_HEARTBEAT_SECONDS: '1' });
  // German exists from the start, as on a fresh Shopware install.
  DE = DE_LANGUAGE;
});
afterAll(() => t.close());

const job = (id: string) => request(t.app).get(`/api/_action/sync/jobs/${id}`);
const ended = (id: string) => until(async () => (await job(id)).body, (b) => ['succeeded', 'failed', 'cancelled'].includes(b.status), 60);
const nameIn = (id: string, language: string) => request(t.app).get(`/api/category/${id}`).set('sw-language-id', language).expect(200).then((r) => r.body.data.name as string);
const germanOnly = (id: string) => ({ c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'Nur deutsch' }] } });

describe('sw-language-id', () => {
  it('an async job writes the language of its request: a German-only new record is FIELD_REQUIRED, as without respond-async', async () => {
    const id = hexId();
    const direct = await sync(t.app, germanOnly(id), { 'sw-language-id': DE });
    expect(direct.status).toBe(400);
    await t.startWorker();
    const submitted = await sync(t.app, germanOnly(id), { 'sw-language-id': DE, prefer: 'respond-async' }).expect(202);
    const done = await ended(submitted.body.id);
    expect(done.status).toBe('failed');
    expect(done.errors).toEqual(direct.body.errors);
    expect((await request(t.app).get(`/api/category/${id}`)).status).toBe(404);
  });

  it('an async job writes plain values for its language, leaving the default language as it was', async () => {
    const id = hexId();
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'Shirts' }] } }).expect(200);
    const submitted = await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'Hemden' }] } }, { 'sw-language-id': DE, prefer: 'respond-async' }).expect(202);
    expect((await ended(submitted.body.id)).status).toBe('succeeded');
    expect(await nameIn(id, DE)).toBe('Hemden');
    expect((await request(t.app).get(`/api/category/${id}`).expect(200)).body.data.name).toBe('Shirts');
  });

  it('an Idempotency-Key: the first request writes its language; a replay answers it; another language is another request (422)', async () => {
    const id = hexId();
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'Trousers' }] } }).expect(200);
    const body = { c: { entity: 'category', action: 'upsert', payload: [{ id, name: 'Hosen' }] } };
    const first = await sync(t.app, body, { 'sw-language-id': DE, 'idempotency-key': 'k-language' }).expect(200);
    expect(await nameIn(id, DE)).toBe('Hosen');
    const again = await sync(t.app, body, { 'sw-language-id': DE, 'idempotency-key': 'k-language' }).expect(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const otherLanguage = await sync(t.app, body, { 'idempotency-key': 'k-language' });
    expect(otherLanguage.status).toBe(422);
    expect(otherLanguage.body.errors[0].code).toBe('IDEMPOTENCY_KEY_REUSED');
    // The default language's name was never touched, by the first request or by the refused one.
    expect((await request(t.app).get(`/api/category/${id}`).expect(200)).body.data.name).toBe('Trousers');
  });
});

describe('the OpenAPI document', () => {
  it('lists every header the sync route reads: the table, parameter for parameter, and Content-Type as the request body', async () => {
    const doc = (await request(t.app).get('/api/_info/openapi.json').expect(200)).body;
    const sync = doc.paths['/api/_action/sync'].post;
    const deref = (p: { $ref?: string; name?: string }) => (p.$ref ? doc.components.parameters[p.$ref.split('/').pop()!] : p);
    const documented = new Set((sync.parameters as { $ref?: string }[]).map(deref).filter((p) => p.in === 'header').map((p) => String(p.name).toLowerCase()));
    for (const h of SYNC_HEADERS) {
      if (h.openapi === 'request-body') expect(Object.keys(sync.requestBody.content)).toEqual(expect.arrayContaining(['application/json', 'application/x-ndjson']));
      else expect([h.name, documented.has(h.name.toLowerCase())]).toEqual([h.name, true]);
    }
    // What issue 25 asked for by name.
    for (const name of ['sw-language-id', 'sw-skip-trigger-flow', 'single-operation', 'content-encoding']) expect(documented).toContain(name);
  });
});
