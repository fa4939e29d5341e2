import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { sync } from '../support/sync';
import { hexId, price } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

type Schema = Record<string, unknown>;

/**
 * Checks a value against the subset of JSON Schema the document uses (type, oneOf, anyOf, items, properties, required,
 * pattern, enum, $ref); returns the paths that do not fit. Enough to tell whether the document describes what
 * the API answers.
 */
function misfits(doc: { components: { schemas: Record<string, Schema> } }, schema: Schema, value: unknown, at = ''): string[] {
  if (typeof schema.$ref === 'string') return misfits(doc, doc.components.schemas[schema.$ref.split('/').pop()!]!, value, at);
  if (Array.isArray(schema.oneOf)) {
    const fits = (schema.oneOf as Schema[]).filter((s) => misfits(doc, s, value, at).length === 0);
    return fits.length === 1 ? [] : [`${at}: fits ${fits.length} of oneOf`];
  }
  if (Array.isArray(schema.anyOf)) {
    const fits = (schema.anyOf as Schema[]).some((s) => misfits(doc, s, value, at).length === 0);
    return fits ? [] : [`${at}: fits none of anyOf`];
  }
  const type = schema.type;
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (type !== undefined && type !== actual && !(type === 'number' && actual === 'integer')) return [`${at}: ${actual} is not ${String(type)}`];
  if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(String(value))) return [`${at}: ${String(value)} does not match`];
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) return [`${at}: ${String(value)} not in enum`];
  const out: string[] = [];
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => out.push(...misfits(doc, schema.items as Schema, v, `${at}/${i}`)));
  if (actual === 'object' && schema.properties) {
    const props = schema.properties as Record<string, Schema>;
    const obj = value as Record<string, unknown>;
    for (const k of (schema.required as string[] | undefined) ?? []) if (!(k in obj)) out.push(`${at}/${k}: missing`);
    for (const [k, v] of Object.entries(obj)) {
      if (!props[k]) out.push(`${at}/${k}: not in the document`);
      else out.push(...misfits(doc, props[k]!, v, `${at}/${k}`));
    }
  }
  return out;
}

describe('GET /api/_info/openapi.json', () => {
  it('describes every entity, without unreadable fields, with the routes each one has', async () => {
    const doc = (await request(t.app).get('/api/_info/openapi.json').expect(200)).body;
    expect(doc.openapi).toBe('3.1.0');
    for (const e of t.registry.all()) {
      expect(doc.components.schemas[e.name]).toBeDefined();
      expect(doc.paths[`/api/search/${e.name}`].post).toBeDefined();
      expect(Boolean(doc.paths[`/api/${e.name}/{id}`])).toBe(!e.isMapping);
    }
    expect(Object.keys(doc.components.schemas.product.properties)).not.toContain('searchKeywords');
    expect(doc.paths['/api/_action/changes'].get).toBeDefined();
    expect(doc.paths['/api/_action/sync'].post).toBeDefined();
  });

  it('matches what the API answers: a record with its associations, a search page, the feed', async () => {
    const doc = (await request(t.app).get('/api/_info/openapi.json').expect(200)).body;
    const tax = hexId();
    const product = hexId();
    await sync(t.app, {
      t: { entity: 'tax', action: 'upsert', payload: [{ id: tax, name: 'T', taxRate: 19 }] },
      p: { entity: 'product', action: 'upsert', payload: [{ id: product, productNumber: 'O-1', name: 'P', stock: 1, price: price(), taxId: tax, categories: [{ name: 'C' }] }] },
    }).expect(200);
    const record = (await request(t.app).get(`/api/product/${product}?associations=tax,manufacturer,categories`).expect(200)).body.data;
    expect(misfits(doc, doc.components.schemas.product, record)).toEqual([]);
    const category = (await request(t.app).get(`/api/category/${record.categories[0].id}?associations=parent,children,products`).expect(200)).body.data;
    expect(category.breadcrumb).toEqual(['C']);
    expect(misfits(doc, doc.components.schemas.category, category)).toEqual([]);
    const page = (await request(t.app).post('/api/search/product_category').send({ associations: ['product', 'category'], limit: 1, 'total-count-mode': 'exact' }).expect(200)).body;
    const pageSchema = doc.paths['/api/search/product_category'].post.responses['200'].content['application/json'].schema;
    expect(misfits(doc, pageSchema, page)).toEqual([]);
    const feed = (await request(t.app).get('/api/_action/changes').expect(200)).body;
    expect(misfits(doc, doc.components.schemas.Changes, feed)).toEqual([]);
    // The checker does catch a misfit.
    expect(misfits(doc, doc.components.schemas.product, { ...record, stock: 'many', extra: 1 })).toEqual(['/stock: string is not integer', '/extra: not in the document']);
  });
});
