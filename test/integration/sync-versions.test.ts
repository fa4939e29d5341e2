import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { createTax, storedRows, sync } from '../support/sync';
import { DE_LANGUAGE, product } from '../fixtures/catalog';

/**
 * Version preconditions: every record read carries `_version`; a record (or delete key) sent back with it is
 * written only if the stored record still has that version, else it fails with VERSION_CONFLICT (409) at its
 * pointer, the current version in meta. The check runs under the write's lock, so two writers with the same base
 * can never both pass.
 */
let t: TestApp;
let taxId: string;
beforeAll(async () => {
  t = await startTestApp();
  taxId = await createTax(t.app, 'Version tax');
});
afterAll(() => t.close());

const read = async (id: string) => (await request(t.app).get(`/api/product/${id}`).expect(200)).body.data as Record<string, unknown> & { _version: string };
const stock = async (id: string) => (await read(id)).stock as number;

describe('_version', () => {
  it('is answered by GET and search, changes with each write and stays with an unchanged re-send', async () => {
    const p = product(taxId, 9001);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const v1 = (await read(p.id as string))._version;
    expect(v1).toMatch(/^[0-9a-z]+$/);
    const found = await request(t.app).post('/api/search/product').send({ ids: [p.id] }).expect(200);
    expect(found.body.data[0]._version).toBe(v1);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    expect((await read(p.id as string))._version).toBe(v1);
    // Each write gives a new version (a write moves updated_at at least a millisecond past the stored one).
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, stock: 101 }] } }).expect(200);
    const v2 = (await read(p.id as string))._version;
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, stock: 102 }] } }).expect(200);
    const v3 = (await read(p.id as string))._version;
    expect(new Set([v1, v2, v3]).size).toBe(3);
  });

  it('writes a record whose _version is the stored one, and refuses a stale one with VERSION_CONFLICT, writing nothing', async () => {
    const p = product(taxId, 9002, { stock: 5 });
    const q = product(taxId, 9003, { stock: 5 });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p, q] } }).expect(200);
    const base = (await read(p.id as string))._version;
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, _version: base, stock: 6 }] } }).expect(200);
    const current = (await read(p.id as string))._version;
    expect(current).not.toBe(base);
    const stale = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: q.id, stock: 9 }, { id: p.id, _version: base, stock: 7 }] } }).expect(409);
    expect(stale.body.errors).toEqual([
      expect.objectContaining({ code: 'VERSION_CONFLICT', status: '409', source: { pointer: '/p/1' }, meta: expect.objectContaining({ index: 1, currentVersion: current }) }),
    ]);
    expect(stale.body.errors[0].detail).toContain(current);
    expect(await stock(p.id as string)).toBe(6);
    expect(await stock(q.id as string)).toBe(5);
  });

  it('with fail-on-error false writes the other records and reports the conflict', async () => {
    const p = product(taxId, 9004, { stock: 5 });
    const q = product(taxId, 9005, { stock: 5 });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p, q] } }).expect(200);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, _version: 'stale', stock: 7 }, { id: q.id, stock: 8 }] } }, { 'fail-on-error': 'false' });
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'VERSION_CONFLICT', source: { pointer: '/p/0' } })]);
    expect(await stock(p.id as string)).toBe(5);
    expect(await stock(q.id as string)).toBe(8);
  });

  it('refuses a _version for a record that is not stored (deleted or never created), with currentVersion null', async () => {
    const p = product(taxId, 9006);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ ...p, _version: 'abc' }] } }).expect(409);
    expect(res.body.errors[0]).toMatchObject({ code: 'VERSION_CONFLICT', source: { pointer: '/p/0' }, meta: { currentVersion: null } });
    expect(await storedRows(t, 'product').where({ product_number: p.productNumber })).toEqual([]);
  });

  it('checks a delete by key: the stored version deletes, a stale one is VERSION_CONFLICT', async () => {
    const p = product(taxId, 9007);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const v = (await read(p.id as string))._version;
    const stale = await sync(t.app, { d: { entity: 'product', action: 'delete', payload: [{ id: p.id, _version: v + 'x' }] } }).expect(409);
    expect(stale.body.errors[0]).toMatchObject({ code: 'VERSION_CONFLICT', source: { pointer: '/d/0' }, meta: { currentVersion: v } });
    await request(t.app).get(`/api/product/${p.id}`).expect(200);
    const done = await sync(t.app, { d: { entity: 'product', action: 'delete', payload: [{ id: p.id, _version: v }] } }).expect(200);
    expect(done.body.deleted.product).toEqual([p.id]);
    const gone = await sync(t.app, { d: { entity: 'product', action: 'delete', payload: [{ id: p.id, _version: v }] } }).expect(409);
    expect(gone.body.errors[0]).toMatchObject({ code: 'VERSION_CONFLICT', meta: { currentVersion: null } });
  });

  it('moves on when only a translation changes, and checks a record that sends nothing but its id and _version', async () => {
    const p = product(taxId, 9008);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const v1 = (await read(p.id as string))._version;
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, translations: { [DE_LANGUAGE]: { name: 'Hemd' } } }] } }).expect(200);
    const v2 = (await read(p.id as string))._version;
    expect(v2).not.toBe(v1);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, _version: v1 }] } }).expect(409);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, _version: v2 }] } }).expect(200);
    expect((await read(p.id as string))._version).toBe(v2);
  });

  it('moves on when a whole record is re-sent with only a translation changed (the chunk PostgreSQL checks by itself)', async () => {
    const p = product(taxId, 9011);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const v1 = (await read(p.id as string))._version;
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ ...p, translations: { [DE_LANGUAGE]: { name: 'Ganzes Hemd' } } }] } }, { prefer: 'return=minimal' }).expect(200);
    // The product's own row was stored as sent; its German row was new: the record was written.
    expect(res.body.unchanged ?? {}).not.toHaveProperty('product');
    const v2 = (await read(p.id as string))._version;
    expect(v2).not.toBe(v1);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ ...p, translations: { [DE_LANGUAGE]: { name: 'Ganzes Hemd' } } }] } }).expect(200);
    expect((await read(p.id as string))._version).toBe(v2);
  });

  it('refuses a _version that is not a string, at its pointer', async () => {
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ ...product(taxId, 9009), _version: 12 }] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/p/0/_version' } });
  });

  it('lets exactly one of two concurrent writers with the same base version through, every time', async () => {
    const p = product(taxId, 9010, { stock: 0 });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    for (let round = 1; round <= 20; round++) {
      const base = (await read(p.id as string))._version;
      const write = (stockValue: number) => sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: p.id, _version: base, stock: stockValue }] } });
      const answers = await Promise.all([write(round * 10 + 1), write(round * 10 + 2)]);
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
      const winner = answers.find((a) => a.status === 200)!;
      const loser = answers.find((a) => a.status === 409)!;
      const stored = await read(p.id as string);
      expect(stored.stock).toBe(answers.indexOf(winner) === 0 ? round * 10 + 1 : round * 10 + 2);
      expect(loser.body.errors[0].meta.currentVersion).toBe(stored._version);
    }
  });
});
