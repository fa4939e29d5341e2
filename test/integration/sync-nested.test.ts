import { toDbId as dashed } from '../../src/definitions/ids';
import { startTestApp, type TestApp } from '../support/app';
import { count, createTax, sync, storedRows } from '../support/sync';
import { EN_LANGUAGE, hexId, price, product } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('nested writes', () => {
  it('writes a product with its tax, manufacturer, categories and properties in one record', async () => {
    const existingCategory = hexId();
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id: existingCategory, name: 'Existing' }] } }).expect(200);
    const groupId = hexId();
    await sync(t.app, { g: { entity: 'property_group', action: 'upsert', payload: [{ id: groupId, name: 'Colour', displayType: 'color' }] } }).expect(200);
    const [taxId, manufacturerId, newCat1, newCat2, red, blue, productId] = Array.from({ length: 7 }, hexId);
    const res = await sync(t.app, {
      aggregate: {
        entity: 'product',
        action: 'upsert',
        payload: [
          {
            id: productId,
            productNumber: 'AGG-1',
            name: 'Aggregate',
            stock: 3,
            price: price(),
            tax: { id: taxId, name: 'Nested tax', taxRate: 19 },
            manufacturer: { id: manufacturerId, name: 'ACME', link: 'https://acme.example' },
            categories: [{ id: newCat1, name: 'New one' }, { id: existingCategory }, { id: newCat2, name: 'New two', parentId: existingCategory }],
            properties: [
              { id: red, name: 'red', groupId, colorHexCode: '#ff0000' },
              { id: blue, name: 'blue', group: { id: groupId } },
            ],
          },
        ],
      },
    }).expect(200);
    expect(res.body.data).toEqual({
      category: [newCat1, newCat2],
      // Translation rows are listed as key objects, as in Shopware's answer.
      category_translation: [newCat1, newCat2].map((categoryId) => ({ categoryId, languageId: EN_LANGUAGE })),
      product: [productId],
      product_category: expect.arrayContaining([
        { productId, categoryId: newCat1 },
        { productId, categoryId: existingCategory },
        { productId, categoryId: newCat2 },
      ]),
      product_manufacturer: [manufacturerId],
      product_manufacturer_translation: [{ productManufacturerId: manufacturerId, languageId: EN_LANGUAGE }],
      product_property: expect.arrayContaining([{ productId, optionId: red }, { productId, optionId: blue }]),
      property_group_option: expect.arrayContaining([red, blue]),
      property_group_option_translation: expect.arrayContaining([red, blue].map((propertyGroupOptionId) => ({ propertyGroupOptionId, languageId: EN_LANGUAGE }))),
      product_translation: [{ productId, languageId: EN_LANGUAGE }],
      tax: [taxId],
    });
    expect(res.body.data.product_category).toHaveLength(3);
    const row = await storedRows(t, 'product').where({ id: dashed(productId!) }).first();
    expect(row).toMatchObject({ tax_id: dashed(taxId!), manufacturer_id: dashed(manufacturerId!) });
    expect(await t.knex('product_category').where({ product_id: dashed(productId!) }).count()).toEqual([{ count: 3 }]);
    expect(await t.knex('product_property').where({ product_id: dashed(productId!) }).count()).toEqual([{ count: 2 }]);
    expect(await storedRows(t, 'category').where({ id: dashed(newCat2!) }).pluck('parent_id')).toEqual([dashed(existingCategory)]);

    // Upserting the association again adds links and never removes the ones not listed.
    const other = hexId();
    await sync(t.app, { again: { entity: 'product', action: 'upsert', payload: [{ id: productId, categories: [{ id: other, name: 'Other' }] }] } }).expect(200);
    expect(await t.knex('product_category').where({ product_id: dashed(productId!) }).count()).toEqual([{ count: 4 }]);
  });

  it('writes a property group with 50 options, the parent key filled in', async () => {
    const groupId = hexId();
    const options = Array.from({ length: 50 }, (_, i) => ({ name: `size ${i}`, position: i }));
    const res = await sync(t.app, { g: { entity: 'property_group', action: 'upsert', payload: [{ id: groupId, name: 'Size', options }] } }).expect(200);
    expect(res.body.data.property_group).toEqual([groupId]);
    expect(res.body.data.property_group_option).toHaveLength(50);
    expect(await storedRows(t, 'property_group_option').where({ group_id: dashed(groupId) }).count()).toEqual([{ count: 50 }]);
  });

  it('writes children at any depth', async () => {
    const res = await sync(t.app, {
      tree: { entity: 'category', action: 'upsert', payload: [{ name: 'L0', children: [{ name: 'L1', children: [{ name: 'L2', children: [{ name: 'L3' }] }] }] }] },
    }).expect(200);
    expect(res.body.data.category).toHaveLength(4);
    const l3 = await storedRows(t, 'category').where({ name: 'L3' }).first();
    const l2 = await storedRows(t, 'category').where({ id: l3.parent_id }).first();
    expect(l2.name).toBe('L2');
  });

  it('refuses taxId and tax naming different records', async () => {
    const taxId = await createTax(t.app);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 1, { tax: { id: hexId(), name: 'x', taxRate: 1 } })] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/p/0/taxId' } });
  });

  it('points at the nested field that is wrong', async () => {
    const taxId = await createTax(t.app);
    const before = await count(t.knex, 'category');
    const res = await sync(t.app, {
      p: { entity: 'product', action: 'upsert', payload: [product(taxId, 2, { categories: [{ name: 'a' }, { name: 'b' }, { name: 7 }] })] },
    }).expect(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/p/0/categories/2/name' }, meta: { entity: 'category', index: 0 } });
    expect(await count(t.knex, 'category')).toBe(before);
  });

  it('reports a missing required field of a new nested record with its full pointer', async () => {
    const taxId = await createTax(t.app);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 3), product(taxId, 4, { manufacturer: { link: 'https://x.example' } })] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'FIELD_REQUIRED', source: { pointer: '/p/1/manufacturer/name' } });
  });

  it('a nested record with only an id that does not exist is FK_NOT_FOUND, not a record to create', async () => {
    const taxId = await createTax(t.app);
    const missing = hexId();
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 5, { categories: [{ id: missing }] })] } }).expect(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ code: 'FK_NOT_FOUND', source: { pointer: '/p/0/categories/0/id' }, detail: `no category with id ${missing}` }),
    ]);
  });

  it('a one-to-many child with only an id that does not exist is FK_NOT_FOUND too', async () => {
    const missing = hexId();
    const res = await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [{ customerNumber: 'R-1', email: 'r1@example.com', firstName: 'R', lastName: 'R', addresses: [{ id: missing }] }] } }).expect(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ code: 'FK_NOT_FOUND', source: { pointer: '/c/0/addresses/0/id' } })]);
  });

  it('a category given only by its id is linked to, never rewritten: same row version, no feed entry, no re-index', async () => {
    const [parent, child] = [hexId(), hexId()];
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id: parent, name: 'Parent' }, { id: child, parentId: parent, name: 'Child' }] } }).expect(200);
    const versions = async () =>
      (await t.knex.raw(`SELECT id, xmin::text AS v FROM category WHERE id = ANY(?::uuid[]) ORDER BY id`, [[dashed(parent), dashed(child)]])).rows;
    const before = await versions();
    // Feed entries of the two categories, counted in the change log itself (a feed cursor taken with since=now can
    // lag behind other transactions of a busy server and show the categories' creation).
    const entries = async () =>
      Number((await t.knex.raw(`SELECT count(*)::int AS n FROM change_log WHERE entity = 'category' AND key->>'id' = ANY(?::text[])`, [[dashed(parent), dashed(child)]])).rows[0].n);
    const entriesBefore = await entries();
    const taxId = await createTax(t.app, 'Linking');
    const p = product(taxId, 7001, { categories: [{ id: child }] });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    expect(await versions()).toEqual(before);
    expect(await entries()).toBe(entriesBefore);
    // The product itself is indexed: its category tree holds the child and its parent.
    const row = await storedRows(t, 'product').where({ id: dashed(p.id as string) }).first();
    expect(row.category_tree.map((id: string) => id.replace(/-/g, '')).sort()).toEqual([parent, child].sort());
  });

  it('keeps the statement count under 60 for 1,000 products with nested categories', async () => {
    const taxId = await createTax(t.app);
    const shared = Array.from({ length: 20 }, (_, i) => ({ id: hexId(), name: `shared ${i}` }));
    const payload = Array.from({ length: 1000 }, (_, i) =>
      product(taxId, 10_000 + i, { categories: [shared[i % 20], { id: hexId(), name: `own ${i}` }] }),
    );
    t.counter.reset();
    const res = await sync(t.app, { bulk: { entity: 'product', action: 'upsert', payload } }).expect(200);
    expect(t.counter.count).toBeLessThan(60);
    expect(res.body.data.product_category).toHaveLength(2000);
    expect(res.body.data.category).toHaveLength(1020);
  });
});

describe('reference resolvers', () => {
  beforeAll(async () => {
    await sync(t.app, { c: { entity: 'country', action: 'upsert', payload: [{ name: 'Germany', iso: 'DE' }, { name: 'France', iso: 'FR' }] } }).expect(200);
  });

  it('writes a customer with two addresses whose country is found by ISO code', async () => {
    const res = await sync(t.app, {
      c: {
        entity: 'customer',
        action: 'upsert',
        payload: [
          {
            customerNumber: 'C-1',
            email: 'ada@example.com',
            firstName: 'Ada',
            lastName: 'Lovelace',
            addresses: [
              { street: 'Main 1', city: 'Berlin', countryId: { resolver: 'country.iso', value: 'DE' } },
              { street: 'Rue 2', city: 'Paris', countryId: { resolver: 'country.iso', value: 'FR' } },
            ],
          },
        ],
      },
    }).expect(200);
    expect(res.body.data.customer_address).toHaveLength(2);
    const rows = await t.knex('customer_address as a').join('country as c', 'c.id', 'a.country_id').orderBy('a.city').select('a.city', 'c.iso');
    expect(rows).toEqual([{ city: 'Berlin', iso: 'DE' }, { city: 'Paris', iso: 'FR' }]);
  });

  it('links products to categories by product number (and Shopware\'s product.number alias)', async () => {
    const taxId = await createTax(t.app);
    const cat = hexId();
    await sync(t.app, {
      p: { entity: 'product', action: 'upsert', payload: [product(taxId, 700), product(taxId, 701)] },
      c: { entity: 'category', action: 'upsert', payload: [{ id: cat, name: 'Linked' }] },
    }).expect(200);
    const res = await sync(t.app, {
      l: {
        entity: 'product_category',
        action: 'upsert',
        payload: [
          { productId: { resolver: 'product.productNumber', value: 'SW-700' }, categoryId: cat },
          { productId: { resolver: 'product.number', value: 'SW-701' }, categoryId: cat },
        ],
      },
    }).expect(200);
    expect(res.body.data.product_category).toHaveLength(2);
    expect(await t.knex('product_category').where({ category_id: dashed(cat) }).count()).toEqual([{ count: 2 }]);
  });

  it('an unresolvable reference in record 7 of 100: 400, pointer to it, nothing written', async () => {
    const payload = Array.from({ length: 100 }, (_, i) => ({
      customerNumber: `R-${i}`,
      email: `r${i}@example.com`,
      firstName: 'R',
      lastName: String(i),
      addresses: [{ street: 's', city: 'c', countryId: { resolver: 'country.iso', value: i === 7 ? 'XX' : 'DE' } }],
    }));
    const before = await count(t.knex, 'customer');
    const res = await sync(t.app, { import: { entity: 'customer', action: 'upsert', payload } }).expect(400);
    expect(res.body.errors).toEqual([
      expect.objectContaining({ code: 'REFERENCE_UNRESOLVED', source: { pointer: '/import/7/addresses/0/countryId' } }),
    ]);
    expect(await count(t.knex, 'customer')).toBe(before);
  });

  it('sets null with nullOnMissing where the field is nullable, and refuses it where it is not', async () => {
    const taxId = await createTax(t.app);
    const res = await sync(t.app, {
      p: { entity: 'product', action: 'upsert', payload: [product(taxId, 800, { manufacturerId: { resolver: 'product_manufacturer.name', value: 'x' } })] },
    }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'RESOLVER_NOT_FOUND', source: { pointer: '/p/0/manufacturerId/resolver' } });

    const cat = hexId();
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id: cat, name: 'orphan', parentId: { resolver: 'category.externalId', value: 'missing', nullOnMissing: true } }] } }).expect(200);
    expect(await storedRows(t, 'category').where({ id: dashed(cat) }).pluck('parent_id')).toEqual([null]);

    const refused = await sync(t.app, {
      a: { entity: 'customer_address', action: 'upsert', payload: [{ street: 's', city: 'c', customerId: hexId(), countryId: { resolver: 'country.iso', value: 'ZZ', nullOnMissing: true } }] },
    }).expect(400);
    expect(refused.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/a/0/countryId/nullOnMissing' } });
  });

  it('resolves a record written earlier in the same request, and one of the same payload', async () => {
    const res = await sync(t.app, [
      { key: 'country', entity: 'country', action: 'upsert', payload: [{ name: 'Austria', iso: 'AT' }] },
      {
        key: 'categories',
        entity: 'category',
        action: 'upsert',
        payload: [
          { name: 'child', externalId: 'ext-child', parentId: { resolver: 'category.externalId', value: 'ext-root' } },
          { name: 'root', externalId: 'ext-root' },
        ],
      },
      {
        key: 'customer',
        entity: 'customer',
        action: 'upsert',
        payload: [{ customerNumber: 'AT-1', email: 'at@example.com', firstName: 'A', lastName: 'T', addresses: [{ street: 's', city: 'Wien', countryId: { resolver: 'country.iso', value: 'AT' } }] }],
      },
    ]).expect(200);
    expect(res.body.data.customer_address).toHaveLength(1);
    const child = await storedRows(t, 'category').where({ external_id: 'ext-child' }).first();
    const root = await storedRows(t, 'category').where({ external_id: 'ext-root' }).first();
    expect(child.parent_id).toBe(root.id);
  });

  it('finds the record to update by a resolver on its own id', async () => {
    const taxId = await createTax(t.app);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 900)] } }).expect(200);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: { resolver: 'product.productNumber', value: 'SW-900' }, stock: 77 }] } }).expect(200);
    expect(await storedRows(t, 'product').where({ product_number: 'SW-900' }).pluck('stock')).toEqual([77]);
  });

  it('refuses a resolver of the wrong entity', async () => {
    const taxId = await createTax(t.app);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(taxId, 901, { taxId: { resolver: 'country.iso', value: 'DE' } })] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/p/0/taxId/resolver' } });
  });
});
