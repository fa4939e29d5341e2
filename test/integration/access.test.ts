import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import request from 'supertest';
import winston from 'winston';
import { Integrations } from '../../src/auth/integrations';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';
import { count, createTax, sync, storedRows } from '../support/sync';
import { hexId, product } from '../fixtures/catalog';

const lines: string[] = [];
const captured = winston.createLogger({
  level: 'debug',
  format: winston.format.json(),
  transports: [new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }) })],
});

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ TOKEN_FAILURES_PER_15_MINUTES: '3' }, { logger: captured });
});
afterAll(() => t.close());

function tokenFor(clientId: string, secret: string) {
  return request(t.bare).post('/api/oauth/token').send({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
}

async function integration(privileges: string[]) {
  const { integration: i, secret } = await new Integrations(t.knex).create({ name: `test ${privileges.join(' ')}`, privileges });
  const res = await tokenFor(i.clientId, secret).expect(200);
  return { ...i, secret, token: res.body.access_token as string };
}

function as(token: string) {
  return { authorization: `Bearer ${token}` };
}

describe('tokens', () => {
  it('issues a bearer token for client credentials, as JSON or form-encoded', async () => {
    const { integration: i, secret } = await new Integrations(t.knex).create({ name: 'form', privileges: ['tax:upsert'] });
    const json = await tokenFor(i.clientId, secret).expect(200);
    expect(json.body).toEqual({ token_type: 'Bearer', expires_in: 600, access_token: expect.any(String) });
    const form = await request(t.bare)
      .post('/api/oauth/token')
      .type('form')
      .send({ grant_type: 'client_credentials', client_id: i.clientId, client_secret: secret })
      .expect(200);
    await sync(t.bare, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'by form token', taxRate: 1 }] } }, as(form.body.access_token)).expect(200);
  });

  it('accepts client_secret_basic: HTTP Basic with the url-encoded client id and secret (RFC 6749 §2.3.1)', async () => {
    // An id and a secret with the characters that url-encoding changes (":" would otherwise split the pair).
    const clientId = 'ops:basic+1';
    const secret = 'p@ss:w rd%+é';
    await new Integrations(t.knex).ensureAdmin(clientId, secret);
    const basic = (id: string, s: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString('base64')}`;
    const form = await request(t.bare).post('/api/oauth/token').set('authorization', basic(clientId, secret)).type('form').send({ grant_type: 'client_credentials' }).expect(200);
    expect(form.body).toEqual({ token_type: 'Bearer', expires_in: 600, access_token: expect.any(String) });
    await sync(t.bare, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'by basic token', taxRate: 2 }] } }, as(form.body.access_token)).expect(200);
    // "+" stands for a space in form-encoding, as the RFC's encoding asks.
    const plus = Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret).replace(/%20/g, '+')}`).toString('base64');
    await request(t.bare).post('/api/oauth/token').set('authorization', `Basic ${plus}`).send({ grant_type: 'client_credentials' }).expect(200);
    // The same client id in the body is allowed; a different one, or the secret in both places, is not.
    await request(t.bare).post('/api/oauth/token').set('authorization', basic(clientId, secret)).send({ grant_type: 'client_credentials', client_id: clientId }).expect(200);
    const other = await request(t.bare).post('/api/oauth/token').set('authorization', basic(clientId, secret)).send({ grant_type: 'client_credentials', client_id: 'someone' }).expect(400);
    expect(other.body.errors[0].source.pointer).toBe('/client_id');
    const both = await request(t.bare).post('/api/oauth/token').set('authorization', basic(clientId, secret)).send({ grant_type: 'client_credentials', client_secret: secret }).expect(400);
    expect(both.body.errors[0].source.pointer).toBe('/client_secret');
    // A wrong secret, and a header that is not base64 of "id:secret", are 401s with the Basic challenge.
    const wrong = await request(t.bare).post('/api/oauth/token').set('authorization', basic(clientId, 'wrong')).send({ grant_type: 'client_credentials' }).expect(401);
    expect(wrong.headers['www-authenticate']).toBe('Basic realm="bulksync"');
    const garbled = await request(t.bare).post('/api/oauth/token').set('authorization', `Basic ${Buffer.from('no-colon').toString('base64')}`).send({ grant_type: 'client_credentials' }).expect(401);
    expect(garbled.body.errors[0].code).toBe('UNAUTHENTICATED');
    const badEncoding = await request(t.bare).post('/api/oauth/token').set('authorization', `Basic ${Buffer.from('a%zz:b').toString('base64')}`).send({ grant_type: 'client_credentials' }).expect(401);
    expect(badEncoding.body.errors[0].code).toBe('UNAUTHENTICATED');
  });

  it('counts failed Basic attempts against the client id in the header', async () => {
    const { integration: i, secret } = await new Integrations(t.knex).create({ name: 'basic guessed', privileges: ['tax:read'] });
    const basic = (s: string) => `Basic ${Buffer.from(`${encodeURIComponent(i.clientId)}:${encodeURIComponent(s)}`).toString('base64')}`;
    for (let n = 0; n < 3; n++) await request(t.bare).post('/api/oauth/token').set('authorization', basic('wrong')).send({ grant_type: 'client_credentials' }).expect(401);
    await request(t.bare).post('/api/oauth/token').set('authorization', basic(secret)).send({ grant_type: 'client_credentials' }).expect(429);
    // The same client through the body shares that count.
    await tokenFor(i.clientId, secret).expect(429);
  });

  it('counts failed attempts with a NUL byte in the client id too (the shared store refused such keys and let them pass)', async () => {
    const attempt = () => tokenFor('nul\u0000client', 'wrong');
    for (let n = 0; n < 3; n++) await attempt().expect(401);
    await attempt().expect(429);
  });

  it('stores secrets hashed, never in clear', async () => {
    const { integration: i, secret } = await new Integrations(t.knex).create({ name: 'hashed', privileges: ['tax:read'] });
    const row = await t.knex('bulksync_integration').where({ client_id: i.clientId }).first();
    expect(row.secret_hash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('refuses a wrong secret with 401, and limits failed attempts per client id with 429 and Retry-After', async () => {
    const { integration: i, secret } = await new Integrations(t.knex).create({ name: 'guessed', privileges: ['tax:read'] });
    for (let n = 0; n < 3; n++) {
      const res = await tokenFor(i.clientId, 'wrong').expect(401);
      expect(res.body.errors[0].code).toBe('UNAUTHENTICATED');
    }
    const limited = await tokenFor(i.clientId, secret).expect(429);
    expect(limited.body.errors[0].code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Another client id from the same address is not affected.
    const other = await integration(['tax:read']);
    expect(other.token).toEqual(expect.any(String));
  });

  it('refuses a client id with a NUL character as an unknown client, not a fault', async () => {
    const res = await tokenFor('adm\u0000', 'x\u0000').expect(401);
    expect(res.body.errors[0].code).toBe('UNAUTHENTICATED');
  });

  it('refuses another grant type', async () => {
    const res = await request(t.bare).post('/api/oauth/token').send({ grant_type: 'password', client_id: 'x', client_secret: 'y' }).expect(400);
    expect(res.body.errors[0].source.pointer).toBe('/grant_type');
  });
});

describe('authentication', () => {
  it('no token: 401 with WWW-Authenticate, nothing written', async () => {
    const before = await count(t.knex, 'tax');
    const res = await sync(t.bare, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'anonymous', taxRate: 1 }] } }).expect(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="bulksync"/);
    expect(res.body.errors[0].code).toBe('UNAUTHENTICATED');
    expect(await count(t.knex, 'tax')).toBe(before);
  });

  it('expired and tampered tokens: 401', async () => {
    const key = new TextEncoder().encode(t.config.BULKSYNC_TOKEN_SECRET);
    const admin = (await t.knex('bulksync_integration').where({ client_id: 'test-admin' }).first()).id.replace(/-/g, '');
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(admin).setIssuer('bulksync').setIssuedAt(1).setExpirationTime(2).sign(key);
    const a = await request(t.bare).get('/api/_action/indexing/status').set(as(expired)).expect(401);
    expect(a.body.errors[0].detail).toBe('the token has expired');
    const [h, p, sig] = t.token.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = [h, Buffer.from(JSON.stringify({ ...claims, sub: hexId() })).toString('base64url'), sig].join('.');
    await request(t.bare).get('/api/_action/indexing/status').set(as(forged)).expect(401);
    const otherKey = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(admin).setIssuer('bulksync').setExpirationTime('1h').sign(new TextEncoder().encode('x'.repeat(40)));
    await request(t.bare).get('/api/_action/indexing/status').set(as(otherKey)).expect(401);
  });

  it('a validly signed token with wrong or missing claims: 401, never a fault (every route)', async () => {
    const key = new TextEncoder().encode(t.config.BULKSYNC_TOKEN_SECRET);
    const admin = (await t.knex('bulksync_integration').where({ client_id: 'test-admin' }).first()).id.replace(/-/g, '');
    const sign = (claims: Record<string, unknown>, build: (j: SignJWT) => SignJWT = (j) => j) =>
      build(new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuer('bulksync')).sign(key);
    const valid = (j: SignJWT) => j.setIssuedAt().setExpirationTime('1h');
    const tokens = {
      'subject not a UUID': await sign({}, (j) => valid(j).setSubject('not-a-uuid')),
      'subject with SQL': await sign({}, (j) => valid(j).setSubject("' OR 1=1 --")),
      'subject a number': await sign({ sub: 42 }, valid),
      'subject an object': await sign({ sub: { id: admin } }, valid),
      'no subject': await sign({}, valid),
      'no expiry': await sign({}, (j) => j.setIssuedAt().setSubject(admin)),
      'expiry a string': await sign({ exp: 'tomorrow' }, (j) => j.setIssuedAt().setSubject(admin)),
      'issued-at a string': await sign({ iat: 'now' }, (j) => j.setExpirationTime('1h').setSubject(admin)),
      'issuer a list': await new SignJWT(JSON.parse('{"iss":["bulksync"]}')).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1h').setSubject(admin).sign(key),
    };
    for (const [name, token] of Object.entries(tokens)) {
      for (const call of [
        request(t.bare).get('/api/_action/indexing/status'),
        request(t.bare).post('/api/search/tax').send({}),
        request(t.bare).post('/api/_action/sync').send({ t: { entity: 'tax', action: 'upsert', payload: [{ name: 'x', taxRate: 1 }] } }),
      ]) {
        const res = await call.set(as(token));
        expect({ name, status: res.status, code: res.body.errors?.[0]?.code }).toEqual({ name, status: 401, code: 'UNAUTHENTICATED' });
      }
    }
    // The same claims done right are accepted: the refusals above are about the claims, not the key.
    await request(t.bare).get('/api/_action/indexing/status').set(as(await sign({}, (j) => valid(j).setSubject(admin)))).expect(200);
    // A dashed UUID names the same integration.
    const dashed = `${admin.slice(0, 8)}-${admin.slice(8, 12)}-${admin.slice(12, 16)}-${admin.slice(16, 20)}-${admin.slice(20)}`;
    await request(t.bare).get('/api/_action/indexing/status').set(as(await sign({}, (j) => valid(j).setSubject(dashed)))).expect(200);
  });

  it('a revoked integration gets no token, and its tokens stop working', async () => {
    const i = await integration(['*:read']);
    await request(t.bare).get('/api/_action/indexing/status').set(as(i.token)).expect(200);
    await new Integrations(t.knex).revoke(i.clientId);
    await tokenFor(i.clientId, i.secret).expect(401);
    // Integration lookups are cached for 5 s: the token stops working once its entry is stale, not at once.
    const refused = await until(() => request(t.bare).get('/api/_action/indexing/status').set(as(i.token)), (res) => res.status === 401, 15);
    expect(refused.status).toBe(401);
  });
});

describe('privileges', () => {
  it('product:upsert only: upsert ok, delete 403, nested tax 403 naming tax:upsert; nothing written', async () => {
    const taxId = await createTax(t.app);
    const limited = await integration(['product:upsert']);
    const p = product(taxId, 1);
    await sync(t.bare, { p: { entity: 'product', action: 'upsert', payload: [p] } }, as(limited.token)).expect(200);
    const del = await sync(t.bare, { d: { entity: 'product', action: 'delete', payload: [{ id: p.id }] } }, as(limited.token)).expect(403);
    expect(del.body.errors.map((e: { meta: { privilege: string } }) => e.meta.privilege)).toEqual(['product:delete', 'product_category:delete', 'product_property:delete', 'product_visibility:delete']);
    const before = await count(t.knex, 'product');
    const nested = await sync(
      t.bare,
      { p: { entity: 'product', action: 'upsert', payload: [product(hexId(), 2, { taxId: undefined, tax: { name: 'nested', taxRate: 3 } })] } },
      as(limited.token),
    ).expect(403);
    expect(nested.body.errors).toEqual([
      expect.objectContaining({ code: 'FORBIDDEN', source: { pointer: '/p' }, meta: { operation: 'p', privilege: 'tax:upsert' } }),
    ]);
    expect(nested.body.errors[0].detail).toContain('tax:upsert');
    expect(await count(t.knex, 'product')).toBe(before);
    expect(await t.knex('tax').where({ name: 'nested' })).toHaveLength(0);
  });

  it('a delete needs delete on everything its cascades reach', async () => {
    const catOnly = await integration(['category:delete']);
    const res = await sync(t.bare, { d: { entity: 'category', action: 'delete', payload: [{ id: hexId() }] } }, as(catOnly.token)).expect(403);
    expect(res.body.errors[0].meta.privilege).toBe('product_category:delete');
    const both = await integration(['category:delete', 'product_category:*']);
    await sync(t.bare, { d: { entity: 'category', action: 'delete', payload: [{ id: hexId() }] } }, as(both.token)).expect(200);
  });

  it('a delete whose set null rule clears references of another entity needs that entity\'s upsert', async () => {
    const taxId = await createTax(t.app);
    const manufacturerId = hexId();
    const p = product(taxId, 501, { manufacturer: { id: manufacturerId, name: 'Acme' } });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const deleteOnly = await integration(['product_manufacturer:delete']);
    const res = await sync(t.bare, { d: { entity: 'product_manufacturer', action: 'delete', payload: [{ id: manufacturerId }] } }, as(deleteOnly.token)).expect(403);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ code: 'FORBIDDEN', source: { pointer: '/d' }, meta: { operation: 'd', privilege: 'product:upsert' } }),
    ]);
    // Nothing written: the manufacturer is there and the product still references it.
    expect(await storedRows(t, 'product_manufacturer').where({ id: manufacturerId })).toHaveLength(1);
    expect((await storedRows(t, 'product').where({ id: p.id }).first()).manufacturer_id.replace(/-/g, '')).toBe(manufacturerId);
    // By criteria too.
    const byCriteria = await sync(
      t.bare,
      { d: { entity: 'product_manufacturer', action: 'delete', criteria: [{ type: 'equals', field: 'name', value: 'Acme' }] } },
      as(deleteOnly.token),
    ).expect(403);
    expect(byCriteria.body.errors[0].meta.privilege).toBe('product:upsert');
    const both = await integration(['product_manufacturer:delete', 'product:upsert']);
    await sync(t.bare, { d: { entity: 'product_manufacturer', action: 'delete', payload: [{ id: manufacturerId }] } }, as(both.token)).expect(200);
    expect((await storedRows(t, 'product').where({ id: p.id }).first()).manufacturer_id).toBeNull();
  });

  it('reads need entity:read', async () => {
    const writer = await integration(['product:upsert']);
    const res = await request(t.bare).post('/api/search/product').set(as(writer.token)).send({}).expect(403);
    expect(res.body.errors[0]).toMatchObject({ code: 'FORBIDDEN', meta: { privilege: 'product:read' } });
    await request(t.bare).get(`/api/product/${hexId()}`).set(as(writer.token)).expect(403);
    await request(t.bare).get('/api/_action/changes?entity=product').set(as(writer.token)).expect(403);
    const reader = await integration(['product:read']);
    await request(t.bare).post('/api/search/product').set(as(reader.token)).send({}).expect(200);
    const assoc = await request(t.bare).post('/api/search/product').set(as(reader.token)).send({ associations: ['tax'] }).expect(403);
    expect(assoc.body.errors[0].meta.privilege).toBe('tax:read');
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'unreadable', taxRate: 1 }] } }).expect(200);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(await createTax(t.app), 77)] } }).expect(200);
    // The unfiltered feed answers only the entities the integration may read.
    // The feed only hands out what every older transaction on the server has settled: poll for a moment.
    let feed = await request(t.bare).get('/api/_action/changes?limit=1000').set(as(reader.token)).expect(200);
    for (let i = 0; i < 100 && !feed.body.data.length; i++) {
      await new Promise((r) => setTimeout(r, 200));
      feed = await request(t.bare).get('/api/_action/changes?limit=1000').set(as(reader.token)).expect(200);
    }
    expect(feed.body.data.length).toBeGreaterThan(0);
    // product:read covers the product's translations too.
    expect(new Set(feed.body.data.map((c: { entity: string }) => c.entity))).toEqual(new Set(['product', 'product_translation']));
  });

  it('a full re-index needs indexing:run', async () => {
    const reader = await integration(['*:read']);
    await request(t.bare).post('/api/_action/index').set(as(reader.token)).send({}).expect(403);
  });
});

describe('rate limits', () => {
  it('answers 429 RATE_LIMITED with Retry-After past the per-integration limit', async () => {
    const small = await startTestApp({ RATE_LIMIT_PER_MINUTE: '3' });
    try {
      for (let n = 0; n < 3; n++) await request(small.app).get('/api/_action/indexing/status').expect(200);
      const res = await request(small.app).get('/api/_action/indexing/status').expect(429);
      expect(res.body.errors[0].code).toBe('RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await small.close();
    }
  });
});

describe('logs and metrics', () => {
  it('log lines carry request and integration ids, never secrets, tokens or bodies', async () => {
    const secretMarker = 'very-secret-value-123456';
    const { integration: i } = await new Integrations(t.knex).create({ name: 'logged', privileges: ['tax:upsert'], secret: secretMarker });
    const tok = (await tokenFor(i.clientId, secretMarker).expect(200)).body.access_token as string;
    await tokenFor(i.clientId, `${secretMarker}-wrong`).expect(401);
    await sync(t.bare, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'body-marker-xyz', taxRate: 1 }] } }, { ...as(tok), 'x-request-id': 'req-logged-1' }).expect(200);
    const all = lines.join('');
    expect(all).not.toContain(secretMarker);
    expect(all).not.toContain(tok);
    expect(all).not.toContain(tok.split('.')[2]);
    expect(all).not.toContain('body-marker-xyz');
    const line = lines.map((l) => JSON.parse(l)).find((l) => l.requestId === 'req-logged-1' && l.message === 'request');
    expect(line).toMatchObject({ integrationId: i.id, route: '/api/_action/sync', status: 200, records: 1 });
    expect(line.durationMs).toEqual(expect.any(Number));
  });

  it('GET /metrics exposes the sync counters after a sync', async () => {
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'metered', taxRate: 2 }] } }).expect(200);
    const res = await request(t.bare).get('/metrics').expect(200);
    expect(res.text).toMatch(/bulksync_sync_records_total\{entity="tax",action="upsert"\} \d+/);
    expect(res.text).toMatch(/bulksync_http_requests_total\{method="POST",route="\/api\/_action\/sync",status="200"\} \d+/);
    expect(res.text).toContain('bulksync_sync_duration_seconds_bucket');
    expect(res.text).toMatch(/bulksync_indexing_jobs\{state="queued"\} \d+/);
    expect(res.text).toMatch(/bulksync_db_pool_connections\{state="used"\} \d+/);
  });

  it('sets security headers (helmet) and no CORS headers by default', async () => {
    const res = await request(t.bare).get('/health').set('origin', 'https://evil.example').expect(200);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('the integration command', () => {
  it('creates an integration, printing its secret once, lists and revokes it; it never migrates', () => {
    // An empty migrations directory: had the command migrated, knex would call it "corrupt" (the database holds
    // migrations it does not list), as it did for a server run with extra MIGRATIONS_DIR.
    const noMigrations = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-no-migrations-'));
    const env = { ...process.env, DATABASE_URL: t.url, SCHEMAS_DIR: path.join(ROOT, 'schemas'), MIGRATIONS_DIR: noMigrations, LOG_LEVEL: 'error' };
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/integration.ts'), ...args], { env, cwd: ROOT, encoding: 'utf8' });
    const created = run('create', '--name', 'ERP', '--privileges', 'product:upsert,product:delete');
    expect(created.status).toBe(0);
    const clientId = /client_id:\s+(\S+)/.exec(created.stdout)![1]!;
    expect(created.stdout).toMatch(/client_secret:\s+\S{20,}/);
    const bad = run('create', '--name', 'x', '--privileges', 'nope:upsert');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('unknown entity nope');
    expect(run('list').stdout).toContain(`${clientId}\tERP\tproduct:upsert,product:delete\tactive`);
    expect(run('revoke', clientId).status).toBe(0);
    expect(run('list').stdout).toMatch(new RegExp(`${clientId}\\tERP\\t.*\\trevoked`));
    fs.rmSync(noMigrations, { recursive: true });
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM during a sync lets it finish and commit', async () => {
    const port = 18000 + Math.floor(Math.random() * 1000);
    const env = {
      ...process.env,
      DATABASE_URL: t.url,
      PORT: String(port),
      SCHEMAS_DIR: path.join(ROOT, 'schemas'),
      MIGRATIONS_DIR: path.join(ROOT, 'migrations'),
      BULKSYNC_ADMIN_CLIENT_ID: 'test-admin',
      BULKSYNC_ADMIN_CLIENT_SECRET: 'test-admin-secret',
      BULKSYNC_TOKEN_SECRET: t.config.BULKSYNC_TOKEN_SECRET!,
      WORKER: 'off',
      LOG_LEVEL: 'info',
    };
    const server = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/main.ts')], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    server.stdout!.on('data', (d) => (log += d));
    server.stderr!.on('data', (d) => (log += d));
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 100 && !log.includes('bulksync listening'); i++) await new Promise((r) => setTimeout(r, 100));
      const base = `http://127.0.0.1:${port}`;
      const taxId = await createTax(t.app);
      const payload = Array.from({ length: 20000 }, (_, i) => product(taxId, 100000 + i));
      const inflight = fetch(`${base}/api/_action/sync`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.token}` },
        body: JSON.stringify({ big: { entity: 'product', action: 'upsert', payload } }),
      });
      for (let i = 0; i < 100 && !(await t.knex.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query ILIKE '%product%' AND pid <> pg_backend_pid()`)).rows[0].n; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      server.kill('SIGTERM');
      const res = await inflight;
      if (res.status !== 200) throw new Error(`sync answered ${res.status}: ${await res.text()}\n${log}`);
      expect(await exited).toBe(0);
      expect(await storedRows(t, 'product').whereRaw(`product_number ~ '^SW-1[0-9]{5}$'`).count()).toEqual([{ count: 20000 }]);
      expect(log).toContain('shutting down');
    } finally {
      server.kill('SIGKILL');
    }
  });
});
