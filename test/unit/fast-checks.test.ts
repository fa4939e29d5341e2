import path from 'node:path';
import { loadRegistry } from '../../src/definitions/registry';

const registry = loadRegistry([path.resolve(__dirname, '../../schemas'), path.resolve(__dirname, '../../examples/pos-inventory/schemas')]);

const SAMPLES: unknown[] = [
  'abc', '', 'x'.repeat(256), 'DE', 'de', 'a\u0000b', '#ff0000', 'not a colour', 'text',
  '0189bf2a627a7296adbc83527ba9ac29', '0189BF2A-627A-7296-ADBC-83527BA9AC29', '0189bf2a-627a', 42, -1, 0, 1.5, 100, 101,
  2 ** 31, -(2 ** 31) - 1, true, false, null, [], {}, ['a'],
];

describe('plain checks of scalar fields', () => {
  it('give the same verdict as the zod validators for every field and sample', () => {
    let compared = 0;
    for (const e of registry.all()) {
      for (const [name, check] of e.checks) {
        const zod = e.validators.get(name)!;
        for (const v of SAMPLES) {
          if (v === null) continue;
          expect([e.name, name, v, check(v) === undefined]).toEqual([e.name, name, v, zod.safeParse(v).success]);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('leave fields with a format, an enum or a JSON schema to zod', () => {
    expect(registry.get('customer').checks.has('email')).toBe(false);
    expect(registry.get('property_group').checks.has('displayType')).toBe(false);
    expect(registry.get('product').checks.has('price')).toBe(false);
    expect(registry.get('product').checks.has('stock')).toBe(true);
  });
});
