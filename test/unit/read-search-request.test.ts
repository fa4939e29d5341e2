import path from 'node:path';
import { loadRegistry } from '../../src/definitions/registry';
import { encodeSearchCursor, parseSearchRequest } from '../../src/read/search-request';
import { keysetCondition, pageSql } from '../../src/read/sql/search';
import type { SearchQuery } from '../../src/read/types';

const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const product = registry.get('product');

function parse(body: unknown): SearchQuery {
  const r = parseSearchRequest(registry, product, body);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.query;
}

describe('search request', () => {
  it('defaults: 25 records, no filter, ordered by the primary key, every readable field', () => {
    const q = parse({});
    expect(q).toMatchObject({ limit: 25, offset: 0, filters: [], totalCount: false });
    expect(q.sort.map((s) => [s.field.name, s.order])).toEqual([['id', 'ASC']]);
    expect(q.selection.fields.map((f) => f.name)).toContain('categoryTree');
    expect(q.selection.fields.map((f) => f.name)).not.toContain('searchKeywords');
  });

  it('ends every sort with the primary key, once', () => {
    expect(parse({ sort: [{ field: 'name', order: 'desc' }] }).sort.map((s) => `${s.field.name} ${s.order}`)).toEqual(['name DESC', 'id ASC']);
    expect(parse({ sort: [{ field: 'id', order: 'DESC' }] }).sort.map((s) => `${s.field.name} ${s.order}`)).toEqual(['id DESC']);
    const mapping = parseSearchRequest(registry, registry.get('product_category'), { sort: [{ field: 'categoryId' }] });
    expect(mapping.ok && mapping.query.sort.map((s) => s.field.name)).toEqual(['categoryId', 'productId']);
  });

  it('turns page into an offset and accepts Shopware\'s numeric total-count-mode', () => {
    expect(parse({ page: 3, limit: 10, 'total-count-mode': 1 })).toMatchObject({ offset: 20, limit: 10, totalCount: true });
  });

  it('round-trips a cursor for the same sort and refuses it for another', () => {
    const q = parse({ sort: [{ field: 'stock', order: 'ASC' }] });
    const cursor = encodeSearchCursor(q, ['4', null]);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(parse({ sort: [{ field: 'stock', order: 'ASC' }], after: cursor }).after).toEqual(['4', null]);
    const other = parseSearchRequest(registry, product, { sort: [{ field: 'stock', order: 'DESC' }], after: cursor });
    expect(other.ok).toBe(false);
    if (!other.ok) expect(other.problems[0]).toMatchObject({ code: 'CRITERIA_INVALID', pointer: '/after' });
  });

  it('accepts the cursor of a long sort value (a text field) it made itself', () => {
    const q = parse({ sort: [{ field: 'description', order: 'ASC' }] });
    const long = 'ä'.repeat(50_000);
    expect(parse({ sort: [{ field: 'description', order: 'ASC' }], after: encodeSearchCursor(q, [long, 'x']) }).after).toEqual([long, 'x']);
  });

  it('builds a selection from dotted association and field paths', () => {
    const q = parse({ associations: ['categories.parent'], fields: ['name', 'tax.taxRate'] });
    expect(q.selection.fields.map((f) => f.name)).toEqual(['id', 'name']);
    const tax = q.selection.associations.get('tax')!;
    expect(tax.selection.fields.map((f) => f.name)).toEqual(['id', 'taxRate']);
    const parent = q.selection.associations.get('categories')!.selection.associations.get('parent')!;
    expect(parent.association).toMatchObject({ type: 'manyToOne', entity: 'category' });
    // Not named in `fields`: an association loaded by `associations` answers all of its fields.
    expect(parent.selection.fields.map((f) => f.name)).toContain('breadcrumb');
  });

  it('rewrites pointers of ids and term to where they were given', () => {
    const r = parseSearchRequest(registry, product, { ids: ['x'], term: 5 });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.map((p) => p.pointer)).toEqual(['/ids/0', '/term']);
  });

  it('refuses term on an entity without a search vector', () => {
    const r = parseSearchRequest(registry, registry.get('tax'), { filter: [{ type: 'term', value: 'x' }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]).toMatchObject({ pointer: '/filter/0/type', detail: expect.stringMatching(/tax has no search field/) });
  });
});

describe('keyset SQL', () => {
  it('compares the cursor lexicographically, NULL sorting as the greatest value', () => {
    const q = parse({ sort: [{ field: 'ean', order: 'ASC' }, { field: 'weight', order: 'DESC' }] });
    const params: unknown[] = [];
    const sql = keysetCondition(q.sort, ['E-1', null, '0189bf2a-627a-7296-adbc-83527ba9ac29'], params);
    expect(sql).toBe(
      '((t."ean" > $1::text OR t."ean" IS NULL)) OR ' +
        '(t."ean" = $1::text AND t."weight" IS NOT NULL) OR ' +
        '(t."ean" = $1::text AND t."weight" IS NULL AND t."id" > $2::uuid)',
    );
    expect(params).toEqual(['E-1', '0189bf2a-627a-7296-adbc-83527ba9ac29']);
  });

  it('has no "after" branch for a NULL in an ascending key', () => {
    const q = parse({ sort: [{ field: 'ean', order: 'ASC' }] });
    const params: unknown[] = [];
    expect(keysetCondition(q.sort, [null, 'x'], params)).toBe('(t."ean" IS NULL AND t."id" > $1::uuid)');
  });

  it('selects sort values as text, orders NULLs consistently and fetches one row more than the limit', () => {
    const q = parse({ sort: [{ field: 'createdAt', order: 'DESC' }], limit: 10, page: 2, filter: [{ type: 'equals', field: 'active', value: true }] });
    const params: unknown[] = [];
    const sql = pageSql(q, params);
    expect(sql).toContain('t."created_at"::text AS __s0, t."id"::text AS __s1');
    expect(sql).toContain('WHERE (t."active" = $1::boolean)');
    expect(sql).toContain('ORDER BY t."created_at" DESC NULLS FIRST, t."id" ASC NULLS LAST LIMIT $2 OFFSET $3');
    expect(params).toEqual([true, 11, 10]);
  });
});
