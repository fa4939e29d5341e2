import express, { type NextFunction, type Request, type Response } from 'express';
import { ApiProblem, AuthenticationError, BulksyncClient } from '../../src/client';
import { ADMIN, startTestApp, type TestApp } from '../support/app';
import { listen } from '../support/cli';

let t: TestApp;
let server: { base: string; close(): Promise<void> };
/** What reached the service: path, content type, the headers the client sets, and NDJSON bodies as text. */
const seen: { path: string; type?: string; key?: string; dryRun?: string; body?: string }[] = [];

/** Records every request; an NDJSON sync body is read and answered 415, as a service without NDJSON bodies may. */
function spy(req: Request, res: Response, next: NextFunction) {
  const entry = { path: req.path, type: req.get('content-type'), key: req.get('idempotency-key'), dryRun: req.get('dry-run') };
  seen.push(entry);
  if (req.path === '/api/_action/sync' && entry.type === 'application/x-ndjson') {
    express.text({ type: () => true })(req, res, () => {
      seen.at(-1)!.body = req.body as string;
      res.status(415).json({ errors: [{ status: '415', code: 'BODY_NOT_JSON', detail: 'unsupported media type' }] });
    });
    return;
  }
  next();
}

beforeAll(async () => {
  t = await startTestApp();
  server = await listen(t.bare, spy);
});
afterAll(async () => {
  await server?.close();
  await t?.close();
});
beforeEach(() => {
  seen.length = 0;
});

const client = (extra: Partial<ConstructorParameters<typeof BulksyncClient>[0]> = {}) =>
  new BulksyncClient({ url: server.base, clientId: ADMIN.clientId, clientSecret: ADMIN.secret, ...extra });

describe('BulksyncClient', () => {
  it('streams an NDJSON body in the documented shape, and falls back to JSON for good when the service refuses it', async () => {
    const c = client();
    const first = await c.syncRecords(
      { key: 'taxes', entity: 'tax', action: 'upsert', mode: 'merge', payload: [{ name: 'A', taxRate: 1 }, { name: 'B', taxRate: 2 }] },
      { idempotencyKey: 'batch-1', dryRun: false },
    );
    expect(first.format).toBe('json');
    expect(c.ndjsonSupport).toBe('no');
    expect((first.result.data as Record<string, string[]>).tax).toHaveLength(2);
    const syncs = seen.filter((s) => s.path === '/api/_action/sync');
    expect(syncs.map((s) => s.type)).toEqual(['application/x-ndjson', 'application/json']);
    expect(syncs[0]!.body).toBe(
      '{"operation":{"key":"taxes","entity":"tax","action":"upsert","mode":"merge"}}\n{"name":"A","taxRate":1}\n{"name":"B","taxRate":2}\n',
    );
    // The same key on both attempts: they are one request to the service.
    expect(syncs.map((s) => s.key)).toEqual(['batch-1', 'batch-1']);
    seen.length = 0;
    await c.syncRecords({ entity: 'tax', action: 'upsert', payload: [{ name: 'C', taxRate: 3 }] }, { idempotencyKey: 'batch-2', dryRun: true });
    expect(seen.filter((s) => s.path === '/api/_action/sync')).toEqual([{ path: '/api/_action/sync', type: 'application/json', key: 'batch-2', dryRun: 'true' }]);
  });

  it('sends NDJSON to the service itself, which streams it: a large batch in one body', async () => {
    const plain = await listen(t.bare);
    try {
      const c = new BulksyncClient({ url: plain.base, clientId: ADMIN.clientId, clientSecret: ADMIN.secret });
      const payload = Array.from({ length: 1000 }, (_, i) => ({ name: `Bulk ${i} ${'x'.repeat(200)}`, taxRate: i % 100 }));
      const answer = await c.syncRecords({ entity: 'tax', action: 'upsert', payload }, { idempotencyKey: 'big-1' });
      expect(answer.format).toBe('ndjson');
      expect(c.ndjsonSupport).toBe('yes');
      expect((answer.result.data as Record<string, string[]>).tax).toHaveLength(1000);
      expect(Number((await t.knex('tax').where('name', 'like', 'Bulk %').count<{ n: string }[]>('* as n'))[0]!.n)).toBe(1000);
    } finally {
      await plain.close();
    }
  });

  it('streams syncNdjson bodies from lazy operations, several operations in one body', async () => {
    const c = client();
    async function* keys() {
      yield { id: '0189bf2a627a7296adbc83527ba9ac29' };
      yield { id: '0189bf2a627a7296adbc83527ba9ac30' };
    }
    const refused = await c.syncNdjson(() => [
      { header: { entity: 'tax', action: 'upsert' }, records: [{ name: 'Lazy', taxRate: 5 }] },
      { header: { key: 'drop', entity: 'tax', action: 'delete' }, records: keys() },
    ]).catch((e: unknown) => e);
    // This service takes JSON only (the spy answers 415 after reading the body).
    expect(refused).toMatchObject({ status: 415 });
    expect(seen.find((s) => s.type === 'application/x-ndjson')!.body).toBe(
      [
        '{"operation":{"entity":"tax","action":"upsert"}}',
        '{"name":"Lazy","taxRate":5}',
        '{"operation":{"key":"drop","entity":"tax","action":"delete"}}',
        '{"id":"0189bf2a627a7296adbc83527ba9ac29"}',
        '{"id":"0189bf2a627a7296adbc83527ba9ac30"}',
        '',
      ].join('\n'),
    );
  });

  it('renews the token before it expires, and shares one token request between concurrent calls', async () => {
    let clock = Date.now();
    const c = client({ now: () => clock });
    await Promise.all([c.search('tax', { limit: 1 }), c.search('tax', { limit: 1 }), c.changes({ since: 'now' })]);
    expect(seen.filter((s) => s.path === '/api/oauth/token')).toHaveLength(1);
    // A default token lives 600 s; it is renewed a minute before.
    clock += 530_000;
    await c.search('tax', { limit: 1 });
    expect(seen.filter((s) => s.path === '/api/oauth/token')).toHaveLength(1);
    clock += 15_000;
    await c.search('tax', { limit: 1 });
    expect(seen.filter((s) => s.path === '/api/oauth/token')).toHaveLength(2);
  });

  it('pages through every record with searchAll and answers errors as ApiProblem with the service\'s codes', async () => {
    const c = client();
    await c.sync([{ entity: 'tax', action: 'upsert', payload: Array.from({ length: 7 }, (_, i) => ({ name: `Page ${i}`, taxRate: i })) }]);
    const names: string[] = [];
    for await (const r of c.searchAll<{ name: string }>('tax', { filter: [{ type: 'prefix', field: 'name', value: 'Page ' }] }, 3)) names.push(r.name);
    expect(names.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `Page ${i}`));
    expect(seen.filter((s) => s.path === '/api/search/tax')).toHaveLength(3);
    const refused = await c.sync([{ entity: 'tax', action: 'upsert', payload: [{ name: 'x', taxRate: 'high' }] }]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApiProblem);
    expect(refused).toMatchObject({ status: 400, code: 'VALUE_INVALID', errors: [{ source: { pointer: '/0/0/taxRate' } }] });
  });

  it('reports refused credentials as AuthenticationError', async () => {
    const c = client({ clientSecret: 'wrong-secret' });
    await expect(c.search('tax')).rejects.toBeInstanceOf(AuthenticationError);
  });
});
