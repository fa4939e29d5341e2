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
  return res.body.data.map(({ createdAt: _c, updatedAt: _u, _version: _v, ...rest }: Record<string, unknown>) => rest);
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
    // The feed shows a change once no older transaction of the server (of any database) is still open: under load
    // that can take a moment, and an export lists what the feed shows.
    const visible = await until(async () => (await request(source.app).get(`/api/_action/changes?since=${encodeURIComponent(cursor)}&entity=tax`)).body.data.length, (n) => n >= 3);
    expect(visible).toBeGreaterThanOrEqual(3);
    const deletions = path.join(dir, 'deleted.ndjson');
    const out = await runCli(['export', 'tax', '--since', cursor, '--deletions', deletions], from.base);
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l: { name: string }) => l.name).sort()).toEqual(['Reduced', 'Renamed rate']);
    expect(lines[0]).not.toHaveProperty('createdAt');
    expect(fs.readFileSync(deletions, 'utf8').trim().split('\n').map((l) => JSON.parse(l))).toEqual([{ id: '0189bf2a627a7296adbc83527ba9ac31' }]);
    expect(out.stderr).toMatch(/next cursor: \S+/);
  });

  it('exports every language of a translated entity with its records, and an import restores them as is; shows progress', async () => {
    const de = 'a909e6aa7c56eed308fa81b7c9c74ac2';
    const ids = ['0189bf2a627a7296adbc83527baa7001', '0189bf2a627a7296adbc83527baa7002'];
    const seeded = await request(source.app)
      .post('/api/_action/sync')
      .send({
        m: {
          entity: 'product_manufacturer',
          action: 'upsert',
          payload: [
            { id: ids[0], name: 'Shoemaker', description: 'Makes shoes', translations: { 'de-DE': { name: 'Schuhmacher', description: 'Macht Schuhe' } } },
            { id: ids[1], name: 'Hatter', translations: { 'de-DE': { name: 'Hutmacher' } } },
          ],
        },
      });
    expect(seeded.status).toBe(200);
    const file = path.join(dir, 'manufacturers.ndjson');
    const out = await runCli(['export', 'product_manufacturer', '--out', file, '--progress-interval', '1'], from.base);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/\d+ records exported \(100% of \d+\), \d+ records\/s/);
    const shoemaker = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).find((r) => r.id === ids[0]);
    expect(shoemaker.translations).toEqual(
      expect.arrayContaining([
        { languageId: '2fbb5fe2e29a4d70aa5854ce7ce3e20b', name: 'Shoemaker', description: 'Makes shoes' },
        { languageId: de, name: 'Schuhmacher', description: 'Macht Schuhe' },
      ]),
    );
    const imported = await runCli(['import', file, '--entity', 'product_manufacturer'], to.base);
    expect(imported.code).toBe(0);
    const translations = async (app: TestApp) =>
      (await request(app.app).post('/api/search/product_manufacturer_translation').send({ filter: [{ type: 'equalsAny', field: 'productManufacturerId', value: ids }], limit: 50 })).body.data
        .map(({ createdAt: _c, updatedAt: _u, _version: _v, ...rest }: Record<string, unknown>) => rest)
        .sort((a: { productManufacturerId: string; languageId: string }, b: { productManufacturerId: string; languageId: string }) => (a.productManufacturerId + a.languageId).localeCompare(b.productManufacturerId + b.languageId));
    const expected = await translations(source);
    expect(expected).toHaveLength(4);
    expect(await translations(target)).toEqual(expected);
    const german = await request(target.app).get(`/api/product_manufacturer/${ids[1]}`).set('sw-language-id', de);
    expect(german.body.data.name).toBe('Hutmacher');
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

  it('writes _version only with --versions; such a file re-imports only the records nobody wrote since', async () => {
    const tax = { id: '0189bf2a627a7296adbc83527ba9ac40', name: 'Versioned rate', taxRate: 5 };
    await request(source.app).post('/api/_action/sync').send({ t: { entity: 'tax', action: 'upsert', payload: [tax] } }).expect(200);
    const criteria = path.join(dir, 'versioned.json');
    fs.writeFileSync(criteria, JSON.stringify({ ids: [tax.id] }));
    const plain = await runCli(['export', 'tax', '--criteria', criteria], from.base);
    expect(JSON.parse(plain.stdout.trim())).not.toHaveProperty('_version');
    const file = path.join(dir, 'versioned.ndjson');
    expect((await runCli(['export', 'tax', '--criteria', criteria, '--versions', '--out', file], from.base)).code).toBe(0);
    const exported = JSON.parse(fs.readFileSync(file, 'utf8').trim());
    expect(exported._version).toEqual(expect.any(String));
    // Someone else writes the record after the export: the edited file no longer applies.
    await request(source.app).post('/api/_action/sync').send({ t: { entity: 'tax', action: 'upsert', payload: [{ id: tax.id, taxRate: 6 }] } }).expect(200);
    fs.writeFileSync(file, JSON.stringify({ ...exported, name: 'Edited offline' }) + '\n');
    const refused = await runCli(['import', file, '--entity', 'tax'], from.base);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/line 1: this tax was based on version \w+ but is now at version \w+/);
    const stored = (await request(source.app).get(`/api/tax/${tax.id}`).expect(200)).body.data;
    expect(stored).toMatchObject({ name: 'Versioned rate', taxRate: 6 });
  });
});
