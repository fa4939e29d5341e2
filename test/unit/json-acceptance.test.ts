import path from 'node:path';
import fc from 'fast-check';
import { jsonAcceptance } from '../../src/definitions/fast-checks';
import { loadRegistry } from '../../src/definitions/registry';

/**
 * The fast acceptance of json values must never accept what the field's zod validator refuses, and what it accepts
 * zod must take unchanged (the stored value is the one sent). Checked on every json field with a JSON schema in
 * schemas/, against values shaped like the schema with every kind of small fault, and arbitrary JSON.
 */
const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const fields = registry.all().flatMap((e) => e.fieldList.filter((f) => f.kind === 'json' && f.jsonSchema).map((f) => ({ entity: e, field: f })));

const ID = 'b7d2554b0ce847cd82f3ac9bd1c0dfca';
const scalar = fc.oneof(
  fc.constant(ID),
  fc.constant('0189bf2a-627a-7296-adbc-83527ba9ac29'),
  fc.constant('EUR'),
  fc.constant('a\u0000b'),
  fc.constant('\ud83d'),
  fc.constant('\ud83d\ude00'),
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(-1),
  fc.constant(0),
  fc.constant(1.5),
  fc.boolean(),
  fc.constant(null),
);
const key = fc.oneof(fc.constantFrom('currencyId', 'gross', 'net', 'linked', 'name', 'value', 'position', 'id', '__proto__', 'constructor', '\ude00'), fc.string());
const shaped = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, scalar, fc.array(tie('value'), { maxLength: 3 }), fc.dictionary(key, tie('value'), { maxKeys: 5 })),
}));
const priceLike = fc.array(
  fc.record({ currencyId: scalar, gross: scalar, net: scalar, linked: scalar }, { requiredKeys: [] }),
  { maxLength: 3 },
);

describe.each(fields.map((f) => [`${f.entity.name}.${f.field.name}`, f] as const))('json acceptance of %s', (_name, { entity, field }) => {
  const accepts = jsonAcceptance(field.jsonSchema);
  const validator = entity.validators.get(field.name)!;

  it('accepts only values zod accepts unchanged', () => {
    expect(accepts).toBeDefined();
    if (!accepts) return;
    fc.assert(
      fc.property(fc.oneof(shaped.value, priceLike, fc.json().map((t) => JSON.parse(t) as unknown)), (v) => {
        if (!accepts(v)) return true;
        const parsed = validator.safeParse(v);
        return parsed.success && JSON.stringify(parsed.data) === JSON.stringify(v);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('json acceptance', () => {
  it('takes a well-formed price list, and leaves every doubtful one to zod', () => {
    const price = registry.get('product').fields.price!;
    const accepts = jsonAcceptance(price.jsonSchema)!;
    expect(accepts([{ currencyId: ID, gross: 19.99, net: 16.8, linked: true }])).toBe(true);
    expect(accepts([])).toBe(false); // minItems 1
    expect(accepts([{ currencyId: ID, gross: -1, net: 1 }])).toBe(false);
    expect(accepts([{ currencyId: 'EUR', gross: 1, net: 1 }])).toBe(false);
    expect(accepts([{ currencyId: ID, gross: 1 }])).toBe(false);
    expect(accepts([{ currencyId: ID, gross: 1, net: 1, extra: 1 }])).toBe(false);
    expect(accepts([{ currencyId: { resolver: 'currency.isoCode', value: 'EUR' }, gross: 1, net: 1 }])).toBe(false);
  });

  it('is not made for schemas with keywords it does not know', () => {
    expect(jsonAcceptance({ type: 'string', minLength: 2 })).toBeUndefined();
    expect(jsonAcceptance({ type: 'object', properties: { a: { type: 'string' } } })).toBeUndefined(); // zod would strip other keys
    expect(jsonAcceptance({ anyOf: [{ type: 'string' }] })).toBeUndefined();
  });
});
