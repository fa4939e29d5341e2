import fs from 'node:fs';
import path from 'node:path';
import { definitionJsonSchema } from '../../src/definitions/json-schema';
import { DefinitionError } from '../../src/definitions/loader';
import { loadRegistry, registryFromTexts } from '../../src/definitions/registry';

const catalog = loadRegistry([path.resolve(__dirname, '../../schemas')]);

function file(name: string, def: unknown) {
  return { file: `schemas/${name}.json`, text: JSON.stringify(def) };
}

describe('the catalog definitions', () => {
  it('registers the catalog entities, their translations and the 2 of webhooks', () => {
    expect(catalog.names()).toEqual([
      'category', 'category_translation', 'country', 'country_translation', 'currency', 'currency_translation', 'customer',
      'customer_address', 'language', 'product', 'product_category', 'product_manufacturer', 'product_manufacturer_translation',
      'product_property', 'product_translation', 'product_visibility', 'property_group', 'property_group_option',
      'property_group_option_translation', 'property_group_translation', 'sales_channel', 'sales_channel_translation', 'tax',
      'webhook', 'webhook_delivery',
    ]);
  });

  it('maps camelCase API names to snake_case columns and adds the writer timestamps', () => {
    const product = catalog.get('product');
    expect(product.fields.productNumber!.column).toBe('product_number');
    expect(product.fields.createdAt).toMatchObject({ column: 'created_at', writeProtected: 'writer' });
    expect(product.fields.searchKeywords).toMatchObject({ writeProtected: 'indexer:product.search', readable: false });
    // Kept in a table of its own, keyed by the product's id.
    expect(product.fields.searchKeywords!.sideTable).toEqual({ table: 'product_search', key: 'product_id', owner: 'id' });
    expect(product.fields.name!.sideTable).toBeUndefined();
  });

  it('orders entities so that every entity follows the ones it references', () => {
    const rank = (n: string) => catalog.order.indexOf(n);
    for (const e of catalog.all()) {
      for (const f of e.fieldList) {
        if (f.kind === 'fk' && f.references !== e.name) expect(rank(f.references!)).toBeLessThan(rank(e.name));
      }
    }
    expect(rank('tax')).toBeLessThan(rank('product'));
    expect(rank('product')).toBeLessThan(rank('product_category'));
    expect(rank('category')).toBeLessThan(rank('product_category'));
  });

  it('knows mapping entities, composite keys and many-to-many links', () => {
    expect(catalog.get('product_category')).toMatchObject({ isMapping: true, primaryKey: ['productId', 'categoryId'] });
    expect(catalog.get('product').associations.categories).toMatchObject({
      type: 'manyToMany', mapping: 'product_category', localKey: 'productId', targetKey: 'categoryId',
    });
  });

  it('lists the foreign keys pointing at an entity with their delete rules', () => {
    expect(catalog.referencing('tax')).toEqual([{ entity: 'product', field: 'taxId', onDelete: 'restrict' }]);
    expect(catalog.referencing('category')).toEqual(
      expect.arrayContaining([
        { entity: 'category', field: 'parentId', onDelete: 'cascade' },
        { entity: 'product_category', field: 'categoryId', onDelete: 'cascade' },
      ]),
    );
  });

  it('builds validators that enforce the bounds of the catalog definitions', () => {
    const tax = catalog.get('tax');
    expect(tax.validators.get('taxRate')!.safeParse(101).success).toBe(false);
    expect(tax.validators.get('taxRate')!.safeParse(19).success).toBe(true);
    expect(catalog.get('customer').validators.get('email')!.safeParse('not-an-email').success).toBe(false);
    expect(catalog.get('country').validators.get('iso')!.safeParse('DEU').success).toBe(false);
  });
});

describe('loading a bad definition', () => {
  const tax = { entity: 'tax', fields: { id: { kind: 'id' }, name: { kind: 'string' } } };

  it('names the file and the path of an unknown kind', () => {
    expect(() => registryFromTexts([file('tax', { ...tax, fields: { id: { kind: 'id' }, rate: { kind: 'decimal' } } })])).toThrow(
      /schemas\/tax\.json: at fields\.rate\.kind/,
    );
  });

  it('names the file when the JSON does not parse', () => {
    expect(() => registryFromTexts([{ file: 'schemas/broken.json', text: '{ "entity": ' }])).toThrow(/schemas\/broken\.json: not valid JSON/);
  });

  it('rejects an fk that references an unknown entity', () => {
    const product = { entity: 'product', fields: { id: { kind: 'id' }, taxId: { kind: 'fk', references: 'nope' } } };
    expect(() => registryFromTexts([file('product', product)])).toThrow(/product\.json: at fields\.taxId\.references: entity "nope"/);
  });

  it('rejects an unknown property in a field', () => {
    expect(() => registryFromTexts([file('tax', { ...tax, fields: { id: { kind: 'id' }, name: { kind: 'string', requried: true } } })])).toThrow(
      /at fields\.name: Unrecognized key.*requried/,
    );
  });

  it('keeps a table of its own for write-protected, unread tsvector fields only, of entities with one key column', () => {
    const withVector = (vector: Record<string, unknown>) => ({ ...tax, fields: { ...tax.fields, words: { kind: 'tsvector', ...vector } } });
    const ok = registryFromTexts([file('tax', withVector({ writeProtected: 'indexer:x', read: false, table: 'tax_words' }))]);
    expect(ok.get('tax').fields.words!.sideTable).toEqual({ table: 'tax_words', key: 'tax_id', owner: 'id' });
    expect(() => registryFromTexts([file('tax', withVector({ writeProtected: 'indexer:x', table: 'tax_words' }))])).toThrow(/at fields\.words\.table: a table of its own applies/);
    expect(() => registryFromTexts([file('tax', withVector({ read: false, table: 'tax_words' }))])).toThrow(/at fields\.words\.table/);
    const name = { ...tax, fields: { ...tax.fields, name: { kind: 'string', writeProtected: 'x', read: false, table: 'tax_names' } } };
    expect(() => registryFromTexts([file('tax', name)])).toThrow(/at fields\.name\.table/);
    const composite = { entity: 'tax', primaryKey: ['a', 'b'], fields: { a: { kind: 'id' }, b: { kind: 'id' }, words: { kind: 'tsvector', writeProtected: 'x', read: false, table: 'tax_words' } } };
    expect(() => registryFromTexts([file('tax', composite)])).toThrow(/at fields\.words\.table: a table of its own needs an entity with a single-column key/);
  });

  it('rejects a many-to-one whose via field does not reference the entity', () => {
    const product = {
      entity: 'product',
      fields: { id: { kind: 'id' }, taxId: { kind: 'fk', references: 'tax' } },
      associations: { tax: { type: 'manyToOne', entity: 'tax', via: 'name' } },
    };
    expect(() => registryFromTexts([file('tax', tax), file('product', product)])).toThrow(/at associations\.tax: "via"/);
  });

  it('rejects a foreign key cycle', () => {
    const a = { entity: 'a', fields: { id: { kind: 'id' }, bId: { kind: 'fk', references: 'b' } } };
    const b = { entity: 'b', fields: { id: { kind: 'id' }, aId: { kind: 'fk', references: 'a' } } };
    expect(() => registryFromTexts([file('a', a), file('b', b)])).toThrow(DefinitionError);
  });

  it('rejects two files defining the same entity', () => {
    expect(() => registryFromTexts([file('tax', tax), file('tax2', tax)])).toThrow(/tax2\.json: at entity: "tax" is already defined/);
  });
});

describe('schemas/definition.schema.json', () => {
  it('is up to date with the loader (npm run definition-schema)', () => {
    const committed = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../schemas/definition.schema.json'), 'utf8'));
    expect(committed).toEqual(definitionJsonSchema());
  });
});
