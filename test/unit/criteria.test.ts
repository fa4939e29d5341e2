import path from 'node:path';
import { parseCriteria } from '../../src/criteria/parse';
import { criteriaToSql } from '../../src/criteria/sql';
import { loadRegistry } from '../../src/definitions/registry';

const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const product = registry.get('product');

function sql(criteria: unknown) {
  const parsed = parseCriteria(product, criteria, '/op/criteria');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const params: unknown[] = [];
  return { text: criteriaToSql(parsed.filters, params), params };
}

describe('criteria', () => {
  it('turns every filter type into parameterised SQL over columns', () => {
    const out = sql([
      { type: 'equals', field: 'productNumber', value: 'SW-1' },
      { type: 'equalsAny', field: 'taxId', value: ['2fbb5fe2e29a4d70aa5854ce7ce3e20b'] },
      { type: 'prefix', field: 'name', value: '50%_off' },
      { type: 'range', field: 'stock', parameters: { gte: 1, lt: 10 } },
      { type: 'not', operator: 'or', queries: [{ type: 'equals', field: 'ean', value: null }, { type: 'suffix', field: 'name', value: 'x' }] },
      { type: 'multi', operator: 'or', queries: [{ type: 'contains', field: 'name', value: 'a' }, { type: 'equals', field: 'active', value: true }] },
    ]);
    expect(out.text).toContain('"product_number" = $1::text');
    expect(out.text).toContain('"tax_id" = ANY($2::uuid[])');
    expect(out.text).toContain('"name" ILIKE $3');
    expect(out.text).toContain('"stock" >= $4::integer AND "stock" < $5::integer');
    expect(out.text).toContain('NOT (("ean" IS NULL) OR ("name" ILIKE $6))');
    expect(out.params[1]).toEqual(['2fbb5fe2-e29a-4d70-aa58-54ce7ce3e20b']);
    expect(out.params[2]).toBe('50\\%\\_off%');
    expect(out.text).not.toContain('SW-1');
  });

  it('accepts Shopware\'s pipe-separated equalsAny', () => {
    expect(sql([{ type: 'equalsAny', field: 'productNumber', value: 'A|B' }]).params[0]).toEqual(['A', 'B']);
  });

  it.each([
    [[], '/op/criteria', /non-empty list/],
    [[{ type: 'equals', field: 'product_number', value: 'x' }], '/op/criteria/0/field', /no field "product_number"/],
    [[{ type: 'like', field: 'name', value: 'x' }], '/op/criteria/0/type', /unknown filter type/],
    [[{ type: 'equals', field: 'stock', value: 'many' }], '/op/criteria/0/value', /stock/],
    [[{ type: 'range', field: 'stock', parameters: { between: 1 } }], '/op/criteria/0/parameters/between', /unknown range parameter/],
    [[{ type: 'contains', field: 'stock', value: '1' }], '/op/criteria/0/field', /needs a text field/],
    [[{ type: 'equals', field: 'searchKeywords', value: 'x' }], '/op/criteria/0/field', /no field/],
    [[{ type: 'multi', operator: 'xor', queries: [] }], '/op/criteria/0/operator', /"and" or "or"/],
    [[{ type: 'multi', operator: ['or'], queries: [{ type: 'equals', field: 'name', value: 'x' }] }], '/op/criteria/0/operator', /"and" or "or", got \["or"\]/],
    [[{ type: 'not', operator: { or: true }, queries: [{ type: 'equals', field: 'name', value: 'x' }] }], '/op/criteria/0/operator', /"and" or "or"/],
    [[{ type: 'equals', field: 'name; DROP TABLE product', value: 'x' }], '/op/criteria/0/field', /no field/],
  ])('rejects %j with a pointer', (criteria, pointer, detail) => {
    const parsed = parseCriteria(product, criteria, '/op/criteria');
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.problems[0]).toMatchObject({ code: 'CRITERIA_INVALID', pointer });
    expect(parsed.problems[0]!.detail).toMatch(detail);
  });
});
