import path from 'node:path';
import { parseAggregations, resolveFieldPath, MAX_AGGREGATIONS } from '../../src/criteria/aggregations';
import { loadRegistry } from '../../src/definitions/registry';
import { criteriaFromQuery } from '../../src/read/search-query-params';

const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const product = registry.get('product');
const parse = (input: unknown) => parseAggregations(registry, product, input, '/aggregations');
const pointers = (input: unknown) => {
  const r = parse(input);
  return r.ok ? [] : r.problems.map((p) => p.pointer);
};

describe('aggregation criteria', () => {
  it('resolves own fields, the entity-name prefix and one association away', () => {
    expect(resolveFieldPath(registry, product, 'stock')?.field.column).toBe('stock');
    expect(resolveFieldPath(registry, product, 'product.stock')?.field.column).toBe('stock');
    const via = resolveFieldPath(registry, product, 'properties.id');
    expect(via?.via?.association.type).toBe('manyToMany');
    expect(via?.via?.target.name).toBe('property_group_option');
    expect(resolveFieldPath(registry, product, 'searchKeywords')).toBeUndefined(); // not readable
    expect(resolveFieldPath(registry, product, 'categories.parent.name')).toBeUndefined(); // two associations away
  });

  it('parses a nested tree: terms > filter > stats', () => {
    const r = parse([
      {
        name: 'makers',
        type: 'terms',
        field: 'manufacturerId',
        limit: 5,
        sort: { field: '_count', order: 'asc' },
        aggregation: { name: 'cheap', type: 'filter', filter: [{ type: 'range', field: 'stock', parameters: { lt: 5 } }], aggregation: { name: 's', type: 'stats', field: 'stock' } },
      },
    ]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const terms = r.aggregations[0]!;
    expect(terms).toMatchObject({ type: 'terms', limit: 5, byKey: false, order: 'ASC', nested: { type: 'filter', nested: { type: 'stats', name: 's' } } });
  });

  it('points at every mistake', () => {
    expect(pointers({})).toEqual(['/aggregations']);
    expect(pointers([{ name: 'a', type: 'terms', field: 'stock', sort: { field: 'name' } }])).toEqual(['/aggregations/0/sort/field']);
    expect(pointers([{ name: 'a', type: 'sum', field: 'stock', limit: 3 }])).toEqual(['/aggregations/0/limit']);
    expect(pointers([{ name: 'a', type: 'filter', filter: [{ type: 'equals', field: 'nope', value: 1 }] }])).toEqual(['/aggregations/0/filter/0/field', '/aggregations/0/aggregation']);
    expect(pointers([{ name: 'a', type: 'entity', field: 'stock', definition: 'product' }])).toEqual(['/aggregations/0/field']);
    expect(pointers([{ name: '12', type: 'count', field: 'id' }])).toEqual(['/aggregations/0/name']);
    const many = Array.from({ length: MAX_AGGREGATIONS + 1 }, (_, i) => ({ name: `n${i}`, type: 'count', field: 'id' }));
    expect(pointers(many)).toEqual([`/aggregations/${MAX_AGGREGATIONS}`]);
  });
});

describe('the GET form of search', () => {
  it('reads JSON text, the sort shorthand, comma lists and scalars', () => {
    expect(criteriaFromQuery({ filter: '[{"type":"equals","field":"active","value":true}]', sort: '-stock,name', fields: 'name, stock', limit: '5' })).toEqual({
      ok: true,
      body: { filter: [{ type: 'equals', field: 'active', value: true }], sort: [{ field: 'stock', order: 'DESC' }, { field: 'name', order: 'ASC' }], fields: ['name', 'stock'], limit: '5' },
    });
  });

  it('refuses a parameter given twice and JSON that does not parse, pointing at the parameter', () => {
    const r = criteriaFromQuery({ limit: ['1', '2'], filter: '[{' });
    expect(r.ok ? [] : r.problems.map((p) => p.pointer)).toEqual(['/limit', '/filter']);
  });
});
