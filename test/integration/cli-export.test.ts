import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { until } from '../support/poll';
import { startTestApp, type TestApp } from '../support/app';
import { listen, runCli } from '../support/cli';

let source: TestApp;
let target: TestApp;
let from: { base: string; close(): Promise<void> };
let to: { base: string; close(): Promise<void> };
let dir: string;
beforeAll(async () => {
  [source, target] = await Promise.all([startTestApp(), startTestApp({ SYNC_MAX_BODY_BYTES: '16kb' })]);
  [from, to] = await Promise.all([listen(source.bare), listen(target.bare)]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-export-'));
});
afterAll(async () => {
  await Promise.all([from?.close(), to?.close()]);
  await Promise.all([source?.close(), target?.close()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const ENTITIES = ['tax', 'product_manufacturer', 'category', 'product', 'product_category'];

/** Every record of an entity, without the timestamps (they differ between the two services). */
async function all(app: TestApp, entity: string): Promise<unknown[]> {
  const res = await request(app.app).post(`/api/search/${entity}`).send({ limit: 500 });
  expect(res.status).toBe(200);
  return res.body.data.map(({ createdAt: _c, updatedAt: _u, ...rest }: Record<string, unknown>) => rest);
}

describe('bulksync export → import', () => {
  it('round-trips a catalog: what one service exports, another imports as is (413s on the way split the batches)', async () => {
    const taxes = [{ id: '0189bf2a627a7296adbc83527ba9ac29', name: 'Standard rate', taxRate: 19 }];
    const categories = Array.from({ length: 20 }, (_, i) => ({ id: `0189bf2a627a7296adbc83527ba9c${String(100 + i)}`, name: `Category ${i}`, ...(i ? { parentId: '0189bf2a627a7296adbc83527ba9c100' } : {}) }));
    const products = Array.from({ length: 120 }, (_, i) => ({
      productNumber: `X-${i}`,
      name: `Product ${i} ${'with a longer name '.repeat(3)}`,
      stock: i,
      price: [{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: 10 + i, net: 8.4 + i, linked: true }],
      taxId: taxes[0]!.id,
      ...(i % 3 === 0 ? { manufacturer: { name: `Maker ${i}` } } : {}),
      categories: [{ id: categories[i % 20]!.id }],
    }));
    const seeded = await request(source.app)
      .post('/api/_action/sync')
      .send([
        { entity: 'tax', action: 'upsert', payload: taxes },
        { entity: 'category', action: 'upsert', payload: categories },
        { entity: 'product', action: 'upsert', payload: products },
      ]);
    expect(seeded.status).toBe(200);

    for (const entity of ENTITIES) {
      const file = path.join(dir, `${entity}.ndjson`);
      const out = await runCli(['export', entity, '--out', file], from.base);
      expect(out.code).toBe(0);
      expect(fs.readFileSync(file, 'utf8').trim().split('\n').length).toBe((await all(source, entity)).length);
      // The target refuses bodies over 16 kB: the product batch must be split to get in.
      const imported = await runCli(['import', file, '--entity', entity, '--batch', '200'], to.base);
      expect({ entity, code: imported.code, stderr: imported.stderr }).toMatchObject({ entity, code: 0 });
      if (entity === 'product') expect(imported.stderr).toContain('too large for the service (413), sent in two halves');
    }
    for (const entity of ENTITIES) expect({ entity, records: await all(target, entity) }).toEqual({ entity, records: await all(source, entity) });
  });

  it('exports what changed since a change-feed cursor, with the keys of deleted records, and the next cursor', async () => {
    const now = await request(source.app).get('/api/_action/changes?since=now');
    const cursor: string = now.body.next;
    const [first] = (await all(source, 'tax')) as { id: string }[];
    const changed = await request(source.app)
      .post('/api/_action/sync')
      .send([
        { entity: 'tax', action: 'upsert', payload: [{ id: first!.id, name: 'Renamed rate' }, { id: '0189bf2a627a7296adbc83527ba9ac31', name: 'Zero', taxRate: 0 }] },
        { entity: 'tax', action: 'delete', payload: [{ id: '0189bf2a627a7296adbc83527ba9ac31' }] },
        { entity: 'tax', action: 'upsert', payload: [{ id: '0189bf2a627a7296adbc83527ba9ac32', name: 'Reduced', taxRate: 7 }] },
      ]);
    expect(changed.status).toBe(200);
    // The feed hands out a transaction's changes once every transaction that began before it on the server has ended
    // (another test file's too): wait for the sync's to show, as a client polling the feed would.
    const feed = await until(() => request(source.app).get(`/api/_action/changes?entity=tax&since=${cursor}`), (r) => r.body.data?.length > 0);
    expect(feed.body.data.length).toBeGreaterThan(0);
    const deletions = path.join(dir, 'deleted.ndjson');
    const out = await runCli(['export', 'tax', '--since', cursor, '--deletions', deletions], from.base);
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l: { name: string }) => l.name).sort()).toEqual(['Reduced', 'Renamed rate']);
    expect(lines[0]).not.toHaveProperty('createdAt');
    expect(fs.readFileSync(deletions, 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ id: '0189bf2a627a7296adbc83527ba9ac31' }]);
    expect(out.stderr).toMatch(/next cursor: \S+/);
  });

  it('exports only what --criteria selects', async () => {
    const criteria = path.join(dir, 'criteria.json');
    fs.writeFileSync(criteria, JSON.stringify({ filter: [{ type: 'range', field: 'stock', parameters: { gte: 100 } }], sort: [{ field: 'stock', order: 'DESC' }] }));
    const out = await runCli(['export', 'product', '--criteria', criteria], from.base);
    expect(out.code).toBe(0);
    expect(out.stdout.trim().split('\n').map((l) => JSON.parse(l).stock)).toEqual(Array.from({ length: 20 }, (_, i) => 119 - i));
    const bad = await runCli(['export', 'product', '--criteria', path.join(dir, 'nope.json')], from.base);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--criteria');
  });
});
