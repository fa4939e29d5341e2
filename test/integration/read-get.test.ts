import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { createTax, sync } from '../support/sync';
import { EUR, hexId, price } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('GET /api/<entity>/<id>', () => {
  const ids = { tax: hexId(), maker: hexId(), product: hexId(), shirts: hexId(), clothing: hexId(), group: hexId(), red: hexId() };

  beforeAll(async () => {
    await sync(t.app, {
      tax: { entity: 'tax', action: 'upsert', payload: [{ id: ids.tax, name: 'Standard', taxRate: 19 }] },
      maker: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id: ids.maker, name: 'Acme', link: 'https://acme.example' }] },
      cats: {
        entity: 'category',
        action: 'upsert',
        payload: [
          { id: ids.clothing, name: 'Clothing' },
          { id: ids.shirts, name: 'Shirts', parentId: ids.clothing },
        ],
      },
      group: { entity: 'property_group', action: 'upsert', payload: [{ id: ids.group, name: 'Colour', options: [{ id: ids.red, name: 'red', position: 1 }] }] },
      product: {
        entity: 'product',
        action: 'upsert',
        payload: [
          {
            id: ids.product,
            productNumber: 'SW-1',
            name: 'Linen shirt',
            description: 'Cool in summer',
            stock: 7,
            price: price(49.9, 41.93),
            taxId: ids.tax,
            manufacturerId: ids.maker,
            weight: 0.25,
            categories: [{ id: ids.shirts }],
            properties: [{ id: ids.red }],
          },
        ],
      },
    }).expect(200);
  });

  it('answers exactly what was written: API names, ids as 32 hex, unreadable fields left out', async () => {
    const res = await request(t.app).get(`/api/product/${ids.product}`).expect(200);
    const p = res.body.data;
    expect(p).toMatchObject({
      id: ids.product,
      productNumber: 'SW-1',
      name: 'Linen shirt',
      description: 'Cool in summer',
      stock: 7,
      price: [{ currencyId: EUR, gross: 49.9, net: 41.93, linked: true }],
      taxId: ids.tax,
      manufacturerId: ids.maker,
      active: true,
      ean: null,
      weight: 0.25,
      externalId: null,
    });
    expect(p).not.toHaveProperty('searchKeywords');
    expect(p).not.toHaveProperty('search_keywords');
    expect(p).not.toHaveProperty('tax_id');
    expect(Date.parse(p.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    // No association is loaded unless asked for.
    expect(p).not.toHaveProperty('tax');
  });

  it('accepts the dashed id and answers the 32 hex spelling', async () => {
    const dashed = ids.product.replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5').toUpperCase();
    const res = await request(t.app).get(`/api/product/${dashed}`).expect(200);
    expect(res.body.data.id).toBe(ids.product);
  });

  it('loads associations named in ?associations, nested ones included', async () => {
    const res = await request(t.app).get(`/api/product/${ids.product}?associations=tax,manufacturer,categories.parent,properties`).expect(200);
    const p = res.body.data;
    expect(p.tax).toMatchObject({ id: ids.tax, name: 'Standard', taxRate: 19, position: 0 });
    expect(p.manufacturer).toMatchObject({ id: ids.maker, name: 'Acme', link: 'https://acme.example' });
    expect(p.categories).toHaveLength(1);
    expect(p.categories[0]).toMatchObject({ id: ids.shirts, name: 'Shirts', parentId: ids.clothing });
    expect(p.categories[0].parent).toMatchObject({ id: ids.clothing, name: 'Clothing', parentId: null });
    expect(p.properties).toEqual([expect.objectContaining({ id: ids.red, name: 'red', groupId: ids.group, position: 1 })]);
  });

  it('answers one-to-many associations as lists, empty when there are none', async () => {
    const group = (await request(t.app).get(`/api/property_group/${ids.group}?associations=options`).expect(200)).body.data;
    expect(group.options.map((o: { id: string }) => o.id)).toEqual([ids.red]);
    const leaf = (await request(t.app).get(`/api/category/${ids.shirts}?associations=children,products`).expect(200)).body.data;
    expect(leaf.children).toEqual([]);
    expect(leaf.products.map((x: { id: string }) => x.id)).toEqual([ids.product]);
  });

  it('answers a many-to-one that is not set as null', async () => {
    const taxId = await createTax(t.app, 'Other', 7);
    const id = hexId();
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id, productNumber: 'SW-2', name: 'x', stock: 1, price: price(), taxId }] } }).expect(200);
    const p = (await request(t.app).get(`/api/product/${id}?associations=manufacturer`).expect(200)).body.data;
    expect(p.manufacturerId).toBeNull();
    expect(p.manufacturer).toBeNull();
  });

  it('answers 404 NOT_FOUND for an unknown id or entity', async () => {
    const missing = await request(t.app).get(`/api/product/${hexId()}`).expect(404);
    expect(missing.body.errors[0]).toMatchObject({ status: '404', code: 'NOT_FOUND' });
    const unknown = await request(t.app).get(`/api/nonsense/${hexId()}`).expect(404);
    expect(unknown.body.errors[0]).toMatchObject({ code: 'NOT_FOUND', detail: 'no entity "nonsense"' });
  });

  it('answers 400 ID_INVALID for a malformed id', async () => {
    const res = await request(t.app).get('/api/product/not-a-uuid').expect(400);
    expect(res.body.errors[0]).toMatchObject({ status: '400', code: 'ID_INVALID' });
  });

  it('refuses mapping entities, which have no single id', async () => {
    const res = await request(t.app).get(`/api/product_category/${ids.product}`).expect(404);
    expect(res.body.errors[0].code).toBe('NOT_FOUND');
    expect(res.body.errors[0].detail).toMatch(/composite key .*POST \/api\/search\/product_category/);
  });

  it('refuses an unknown association', async () => {
    const res = await request(t.app).get(`/api/product/${ids.product}?associations=tax,colour`).expect(400);
    expect(res.body.errors).toHaveLength(1);
    expect(res.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', meta: { parameter: 'associations' } });
    expect(res.body.errors[0].detail).toContain('product has no association "colour"');
  });

  it('leaves the routes it does not own alone', async () => {
    await request(t.app).get('/api/nope').expect(404);
    // The reserved "_" namespace is passed on to the routes after it (here: none, so the app's 404).
    const res = await request(t.app).get('/api/_info/version').expect(404);
    expect(res.body.errors[0]).toMatchObject({ code: 'NOT_FOUND', detail: 'no route GET /api/_info/version' });
  });
});
