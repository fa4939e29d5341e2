import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { count, sync } from '../support/sync';
import { hexId } from '../fixtures/catalog';

/** Error messages that say where and what: byte offsets, NDJSON, lone surrogates, category cycles. */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

const send = (body: string, type = 'application/json') => request(t.app).post('/api/_action/sync').set('content-type', type).send(body);

describe('JSON syntax errors', () => {
  it('point at the offending byte of the body, counted in bytes from its start', async () => {
    const body = '{"write-tax": {"entity": "tax", "action": "upsert", "payload": [{"name": "Ä tax", "taxRate": 7,}]}}';
    const comma = Buffer.from(body).indexOf(',}');
    const res = await send(body);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].code).toBe('BODY_NOT_JSON');
    const at = Number(/at byte (\d+)/.exec(res.body.errors[0].detail)?.[1]);
    // JSON.parse notices the comma's fault at the next byte (the "}" where a property name should be).
    expect(at).toBeGreaterThanOrEqual(comma);
    expect(at).toBeLessThanOrEqual(comma + 1);
    expect(res.body.errors[0].detail).not.toMatch(/position/);
  });
});

describe('a JSON body sent as NDJSON', () => {
  it('is told that NDJSON operations start with an {"operation": …} line', async () => {
    const json = JSON.stringify({ 'write-tax': { entity: 'tax', action: 'upsert', payload: [{ name: 'x', taxRate: 1 }] } }, null, 2);
    for (const body of [json, JSON.stringify(JSON.parse(json))]) {
      const res = await send(body, 'application/x-ndjson');
      expect(res.status).toBe(400);
      const details: string[] = res.body.errors.map((e: { detail: string }) => e.detail);
      expect(details.some((d) => d.includes('{"operation": {"entity": …, "action": …}}') && d.includes('application/json'))).toBe(true);
    }
  });
});

describe('lone surrogates', () => {
  it.each([
    ['a name', '{"name": "bad \\ud800 name", "taxRate": 7}', '/t/0/name'],
    ['a low surrogate alone', '{"name": "\\udfff", "taxRate": 7}', '/t/0/name'],
  ])('in %s are VALUE_INVALID at the field, nothing written', async (_what, record, pointer) => {
    const before = await count(t.knex, 'tax');
    const res = await send(`{"t": {"entity": "tax", "action": "upsert", "payload": [${record}]}}`);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'VALUE_INVALID', source: { pointer } })]);
    expect(await count(t.knex, 'tax')).toBe(before);
  });

  it('in a translated name and in customFields too; a surrogate pair (an emoji) is fine', async () => {
    const bad = await send('{"c": {"entity": "category", "action": "upsert", "payload": [{"name": "ok", "translations": {"de-DE": {"name": "\\ud83d"}}, "customFields": {"k": "\\ude00"}}]}}');
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { source: { pointer: string } }) => e.source.pointer).sort()).toEqual(['/c/0/customFields', '/c/0/translations/de-DE/name']);
    const good = await send('{"c": {"entity": "category", "action": "upsert", "payload": [{"name": "smile \\ud83d\\ude00"}]}}');
    expect(good.status).toBe(200);
  });
});

describe('category cycles', () => {
  const categories = (payload: unknown[]) => sync(t.app, { c: { entity: 'category', action: 'upsert', payload } });

  it('a category that is its own parent is VALUE_INVALID at parentId', async () => {
    const id = hexId();
    const res = await categories([{ id, name: 'Self', parentId: id }]);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'VALUE_INVALID', source: { pointer: '/c/0/parentId' } })]);
    expect(res.body.errors[0].detail).toMatch(/own ancestor/);
    expect(await t.knex('category').where({ id }).count<{ n: number }[]>('* as n')).toEqual([{ n: 0 }]);
  });

  it('a parent that is a descendant is refused and nothing of the request is written', async () => {
    const [root, child, grandchild] = [hexId(), hexId(), hexId()];
    await categories([{ id: root, name: 'Root' }, { id: child, name: 'Child', parentId: root }, { id: grandchild, name: 'Grandchild', parentId: child }]).expect(200);
    const other = hexId();
    const res = await categories([{ id: other, name: 'Other' }, { id: root, parentId: grandchild }]);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'VALUE_INVALID', source: { pointer: '/c/1/parentId' } })]);
    expect(await t.knex('category').where({ id: other }).count<{ n: number }[]>('* as n')).toEqual([{ n: 0 }]);
    expect((await t.knex('category').where({ id: root }).first('parent_id')).parent_id).toBeNull();
  });

  it('two new categories that name each other as parent in one request are refused', async () => {
    const [a, b] = [hexId(), hexId()];
    const res = await categories([
      { id: a, name: 'A', parentId: b },
      { id: b, name: 'B', parentId: a },
    ]);
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID' });
    expect(res.body.errors[0].source.pointer).toMatch(/^\/c\/[01]\/parentId$/);
  });

  it('moving a category under another branch is fine', async () => {
    const [a, b, c] = [hexId(), hexId(), hexId()];
    await categories([{ id: a, name: 'A' }, { id: b, name: 'B', parentId: a }, { id: c, name: 'C' }]).expect(200);
    await categories([{ id: b, parentId: c }]).expect(200);
  });
});
