import path from 'node:path';
import { parseCriteria } from '../../src/criteria/parse';
import { criteriaToSql } from '../../src/criteria/sql';
import { loadRegistry } from '../../src/definitions/registry';

const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const product = registry.get('product');
const ID = '2fbb5fe2e29a4d70aa5854ce7ce3e20b';
const DB_ID = '2fbb5fe2-e29a-4d70-aa58-54ce7ce3e20b';

function sql(criteria: unknown, alias = '') {
  const parsed = parseCriteria(product, criteria, '/filter');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const params: unknown[] = [];
  return { text: criteriaToSql(parsed.filters, params, alias), params };
}

describe('criteria for search', () => {
  it('matches a term against the entity\'s search vector, as a parameter', () => {
    expect(sql([{ type: 'term', value: "linen'; --" }], 't')).toEqual({
      text: `(t."id" IN (SELECT side_row."product_id" FROM "product_search" side_row WHERE side_row."search_keywords" @@ plainto_tsquery('simple', $1)))`,
      params: ["linen'; --"],
    });
  });

  it('tests id lists by membership: equals/contains hold the id, equalsAny shares one', () => {
    expect(sql([{ type: 'equals', field: 'categoryTree', value: ID }])).toEqual({ text: '("category_tree" @> ARRAY[$1::uuid])', params: [DB_ID] });
    expect(sql([{ type: 'contains', field: 'categoryTree', value: ID }]).text).toBe('("category_tree" @> ARRAY[$1::uuid])');
    expect(sql([{ type: 'equalsAny', field: 'categoryTree', value: [ID] }])).toEqual({ text: '("category_tree" && $1::uuid[])', params: [[DB_ID]] });
    expect(sql([{ type: 'equals', field: 'categoryTree', value: null }]).text).toBe('("category_tree" IS NULL)');
  });

  it.each([
    [[{ type: 'term', value: '   ' }], '/filter/0/value', /non-empty/],
    [[{ type: 'term', value: 'x'.repeat(1001) }], '/filter/0/value', /at most 1000/],
    [[{ type: 'term', field: 'name', value: 'x' }], '/filter/0/field', /search field \(tsvector\) of product \(searchKeywords\)/],
    [[{ type: 'equals', field: 'categoryTree', value: [ID] }], '/filter/0/value', /UUID/],
    [[{ type: 'range', field: 'categoryTree', parameters: { gt: ID } }], '/filter/0/field', /ordered field/],
  ])('rejects %j with a pointer', (criteria, pointer, detail) => {
    const parsed = parseCriteria(product, criteria, '/filter');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.problems[0]).toMatchObject({ code: 'CRITERIA_INVALID', pointer });
      expect(parsed.problems[0]!.detail).toMatch(detail);
    }
  });
});
