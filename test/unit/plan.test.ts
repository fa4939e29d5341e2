import path from 'node:path';
import { loadRegistry, registryFromTexts } from '../../src/definitions/registry';
import { MAX_JSON_DEPTH } from '../../src/sync/plan/plan-field';
import { planBody } from '../support/plan-body';

const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const TAX = '2fbb5fe2e29a4d70aa5854ce7ce3e20b';

const plan = (body: Record<string, unknown>) => planBody(body, registry);

describe('operation headers', () => {
  it('reports every operation problem with a pointer', () => {
    const out = plan({
      a: { entity: 'nope', action: 'upsert', payload: [] },
      b: { entity: 'tax', action: 'merge', payload: [] },
      c: { entity: 'tax', action: 'delete', payload: [], criteria: [] },
      d: 'x',
    });
    expect(out.problems!.map((p) => [p.code, p.pointer])).toEqual([
      ['ENTITY_UNKNOWN', '/a/entity'],
      ['ACTION_UNKNOWN', '/b/action'],
      ['PAYLOAD_AND_CRITERIA', '/c/criteria'],
      ['OPERATION_INVALID', '/d'],
    ]);
  });
});

describe('planning', () => {
  it('merges rows of one composite key within a chunk (a link named twice, a translation given twice), keeps rows that share only a part', () => {
    const P1 = '0189bf2a627a7296adbc83527ba9d001';
    const P2 = '0189bf2a627a7296adbc83527ba9d002';
    const C1 = '0189bf2a627a7296adbc83527ba9c001';
    const C2 = '0189bf2a627a7296adbc83527ba9c002';
    const EN = '2fbb5fe2e29a4d70aa5854ce7ce3e20b';
    const record = (id: string, name: string) => ({ id, productNumber: id.slice(-4), name, stock: 1, price: [{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: 1, net: 1, linked: true }], taxId: TAX });
    const out = plan({
      w: {
        entity: 'product',
        action: 'upsert',
        payload: [
          { ...record(P1, 'first'), categories: [{ id: C1 }, { id: C2 }, { id: C1 }] },
          { ...record(P2, 'other'), categories: [{ id: C1 }] },
          { id: P1, translations: { [EN]: { name: 'second' } } },
        ],
      },
    });
    expect(out.problems).toBeUndefined();
    const rows = (entity: string) => (out.plans![0]!.commands.find((c) => c.entity.name === entity) as { rows: { values: Map<string, unknown> }[] }).rows;
    const short = (v: unknown) => String(v).replace(/-/g, '').slice(-4);
    expect(rows('product_category').map((r) => `${short(r.values.get('productId'))}:${short(r.values.get('categoryId'))}`)).toEqual(['d001:c001', 'd001:c002', 'd002:c001']);
    expect(rows('product_translation').map((r) => [short(r.values.get('productId')), r.values.get('name')])).toEqual([
      ['d001', 'second'],
      ['d002', 'other'],
    ]);
  });

  it('consumes the payload: each record is dropped once planned', () => {
    const payload: unknown[] = [{ name: 'a', taxRate: 1 }, { name: 'b', taxRate: 2 }];
    const out = plan({ w: { entity: 'tax', action: 'upsert', payload } });
    expect(out.plans![0]!.commands[0]).toMatchObject({ kind: 'upsert', rows: [expect.anything(), expect.anything()] });
    expect(payload).toEqual([undefined, undefined]);
  });

  it('collects every field problem of every record', () => {
    const out = plan({
      w: {
        entity: 'product',
        action: 'upsert',
        payload: [
          { productNumber: 'A', name: 'a', stock: -1, price: [], taxId: 'nope', colour: 'red' },
          { productNumber: 'B', name: 'b', stock: 1, price: [{ currencyId: TAX, gross: 1, net: 1 }], taxId: TAX, createdAt: '2020-01-01T00:00:00Z', searchKeywords: 'x' },
        ],
      },
    });
    expect(out.problems!.map((p) => [p.code, p.pointer])).toEqual([
      ['VALUE_INVALID', '/w/0/stock'],
      ['VALUE_INVALID', '/w/0/price'],
      ['ID_INVALID', '/w/0/taxId'],
      ['FIELD_UNKNOWN', '/w/0/colour'],
      ['FIELD_WRITE_PROTECTED', '/w/1/createdAt'],
      ['FIELD_WRITE_PROTECTED', '/w/1/searchKeywords'],
    ]);
    expect(out.problems![0]).toMatchObject({ meta: { operation: 'w', entity: 'product', index: 0 } });
  });

  it('normalises dashed ids and gives new records a UUIDv7', () => {
    const out = plan({ w: { entity: 'tax', action: 'upsert', payload: [{ id: '2FBB5FE2-E29A-4D70-AA58-54CE7CE3E20B', name: 'a', taxRate: 1 }, { name: 'b', taxRate: 2 }] } });
    const rows = (out.plans![0]!.commands[0] as { rows: { values: Map<string, unknown> }[] }).rows;
    expect(rows[0]!.values.get('id')).toBe('2fbb5fe2-e29a-4d70-aa58-54ce7ce3e20b');
    expect(String(rows[1]!.values.get('id'))[14]).toBe('7');
  });

  it('refuses a required field set to null and values too long', () => {
    const out = plan({ w: { entity: 'tax', action: 'upsert', payload: [{ name: null, taxRate: 1 }, { name: 'x'.repeat(3_000_000), taxRate: 1 }] } });
    expect(out.problems!.map((p) => [p.code, p.pointer])).toEqual([
      ['FIELD_REQUIRED', '/w/0/name'],
      ['VALUE_INVALID', '/w/1/name'],
    ]);
    expect(out.problems![1]!.detail.length).toBeLessThan(300);
  });

  it('escapes operation keys in pointers (RFC 6901)', () => {
    const out = plan({ 'a/b~c': { entity: 'tax', action: 'upsert', payload: [{ taxRate: 'x', name: 'n' }] } });
    expect(out.problems![0]!.pointer).toBe('/a~1b~0c/0/taxRate');
  });

  it('reports a refused key field once, not also as missing', () => {
    const out = plan({ l: { entity: 'product_category', action: 'upsert', payload: [{ productId: { resolver: 'product.nope', value: 'x' }, categoryId: TAX }] } });
    expect(out.problems!.map((p) => [p.code, p.pointer])).toEqual([['RESOLVER_NOT_FOUND', '/l/0/productId/resolver']]);
  });

  it('needs every key column to delete a mapping row', () => {
    const out = plan({ d: { entity: 'product_category', action: 'delete', payload: [{ productId: TAX }] } });
    expect(out.problems!.map((p) => [p.code, p.pointer])).toEqual([['FIELD_REQUIRED', '/d/0/categoryId']]);
  });
});

describe('json values without a schema', () => {
  it('refuses a value nested too deeply for the validator instead of failing', () => {
    const own = registryFromTexts([{ file: 'doc.json', text: JSON.stringify({ entity: 'doc', fields: { id: { kind: 'id' }, data: { kind: 'json' } } }) }]);
    let deep: unknown = 1;
    for (let i = 0; i < 20000; i++) deep = [deep];
    const planned = planBody({ d: { entity: 'doc', action: 'upsert', payload: [{ data: deep }] } }, own);
    expect(planned.problems!.map((p) => [p.code, p.pointer, p.detail])).toEqual([
      ['VALUE_INVALID', '/d/0/data' + '/0'.repeat(MAX_JSON_DEPTH), `data: json values nest at most ${MAX_JSON_DEPTH} levels of lists and objects`],
    ]);
  });

  it('takes json values up to the depth limit and points at the first level past it', () => {
    const own = registryFromTexts([{ file: 'doc.json', text: JSON.stringify({ entity: 'doc', fields: { id: { kind: 'id' }, data: { kind: 'json' } } }) }]);
    const nest = (levels: number) => {
      let v: unknown = { leaf: true };
      for (let i = 1; i < levels; i++) v = i % 2 ? { k: v } : [1, v];
      return v;
    };
    const run = (data: unknown) => {
      return planBody({ d: { entity: 'doc', action: 'upsert', payload: [{ data }] } }, own).problems ?? [];
    };
    expect(run(nest(MAX_JSON_DEPTH))).toEqual([]);
    const problems = run(nest(MAX_JSON_DEPTH + 1));
    expect(problems).toHaveLength(1);
    const path = problems[0]!.pointer!.split('/').slice(4);
    expect(path).toHaveLength(MAX_JSON_DEPTH);
    expect(path.slice(0, 4)).toEqual(['1', 'k', '1', 'k']);
  });
});

describe('date-time values', () => {
  it('refuses what PostgreSQL\'s timestamptz cannot hold as VALUE_INVALID at the field', () => {
    const own = registryFromTexts([{ file: 'event.json', text: JSON.stringify({ entity: 'event', fields: { id: { kind: 'id' }, at: { kind: 'datetime' } } }) }]);
    const run = (at: unknown) => {
      return (planBody({ e: { entity: 'event', action: 'upsert', payload: [{ at }] } }, own).problems ?? []).map((p) => [p.code, p.pointer]);
    };
    expect(run('0000-01-01T00:00:00Z')).toEqual([['VALUE_INVALID', '/e/0/at']]);
    expect(run('2026-11-30T12:00:00+16:00')).toEqual([['VALUE_INVALID', '/e/0/at']]);
    expect(run('0001-01-01T00:00:00Z')).toEqual([]);
    expect(run('2026-11-30T12:00:00-15:59')).toEqual([]);
  });
});
