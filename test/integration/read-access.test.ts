import request from 'supertest';
import { Integrations } from '../../src/auth/integrations';
import { ApiError } from '../../src/errors';
import type { ReadResult } from '../../src/read/types';
import type { ReadAccess } from '../../src/read/access';
import { ReadService } from '../../src/read/service';
import { startTestApp, type TestApp } from '../support/app';
import { hexId, EN_LANGUAGE } from '../fixtures/catalog';

let t: TestApp;
let reads: ReadService;
beforeAll(async () => {
  t = await startTestApp();
  reads = new ReadService(t.knex, t.registry, { retentionDays: 30 });
});
afterAll(() => t.close());

/** What a caller with these `<entity>:read` privileges may read. */
const only = (...entities: string[]): ReadAccess => (e) => entities.includes(e);

/** The problems a read answered, with the status the HTTP edge would give them. */
async function rejection(p: Promise<ReadResult<unknown>>): Promise<ApiError> {
  const r = await p;
  if (r.ok) throw new Error('expected problems, got a value');
  return new ApiError(r.problems);
}

async function value<T>(p: Promise<ReadResult<T>>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(`expected a value, got ${JSON.stringify(r.problems)}`);
  return r.value;
}

const tax = hexId();
const product = hexId();
const category = hexId();

beforeAll(async () => {
  await t.knex('tax').insert({ id: tax, name: 'T', tax_rate: 1 });
  await t.knex('category').insert({ id: category });
  await t.knex('category_translation').insert({ category_id: category, language_id: EN_LANGUAGE, name: 'C' });
  await t.knex('product').insert({ id: product, product_number: 'A-1', stock: 1, price: JSON.stringify([]), tax_id: tax });
  await t.knex('product_translation').insert({ product_id: product, language_id: EN_LANGUAGE, name: 'P' });
  await t.knex('product_category').insert({ product_id: product, category_id: category });
});

describe('read privileges (<entity>:read)', () => {
  it('reads what the caller may read', async () => {
    const record = await value(reads.get('product', product, 'tax', { access: only('product', 'tax') }));
    expect(record).toMatchObject({ id: product, tax: { id: tax } });
    const found = await value(reads.search('product', { associations: ['tax'] }, { access: only('product', 'tax') }));
    expect(found.data).toHaveLength(1);
  });

  it('refuses the entity itself, naming the privilege', async () => {
    const e = await rejection(reads.get('product', product, undefined, { access: only('tax') }));
    expect(e.status).toBe(403);
    expect(e.problems).toEqual([{ code: 'FORBIDDEN', detail: 'the integration lacks the privilege product:read', meta: { privilege: 'product:read' } }]);
    expect((await rejection(reads.search('product', {}, { access: only('tax') }))).status).toBe(403);
  });

  it('refuses associations into entities the caller may not read, mapping tables included', async () => {
    const e = await rejection(reads.get('product', product, 'tax,categories', { access: only('product', 'category') }));
    expect(e.problems.map((p) => p.meta?.privilege)).toEqual(['tax:read', 'product_category:read']);
    const s = await rejection(reads.search('product', { fields: ['tax.name'] }, { access: only('product') }));
    expect(s.problems.map((p) => p.meta?.privilege)).toEqual(['tax:read']);
  });

  it('limits the change feed to readable entities, and refuses naming another', async () => {
    // The feed hands entries out once older transactions on the server have ended: wait until all four are out.
    const entities = async (access?: ReadAccess) => new Set((await value(reads.changes({}, access))).data.map((e) => e.entity));
    const deadline = Date.now() + 20_000;
    while ((await entities()).size < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await entities()).toEqual(new Set(['tax', 'category', 'category_translation', 'product', 'product_translation', 'product_category']));
    // Translations come with the privilege of the entity they translate.
    expect(await entities(only('tax', 'category'))).toEqual(new Set(['tax', 'category', 'category_translation']));
    const tr = await rejection(reads.search('category_translation', {}, { access: only('tax') }));
    expect(tr.problems.map((p) => p.meta?.privilege)).toEqual(['category:read']);
    expect((await value(reads.search('category_translation', {}, { access: only('category') }))).data).toHaveLength(1);
    expect((await rejection(reads.changes({ entity: 'tax,product' }, only('tax')))).problems.map((p) => p.meta?.privilege)).toEqual(['product:read']);
    expect((await rejection(reads.changes({}, only()))).status).toBe(403);
  });
});

describe('read privileges over HTTP', () => {
  async function tokenOf(privileges: string[]): Promise<{ authorization: string }> {
    const { integration, secret } = await new Integrations(t.knex).create({ name: `reader ${privileges.join(' ')}`, privileges });
    const res = await request(t.bare)
      .post('/api/oauth/token')
      .send({ grant_type: 'client_credentials', client_id: integration.clientId, client_secret: secret })
      .expect(200);
    return { authorization: `Bearer ${res.body.access_token}` };
  }

  it('checks every entity a request reads: query-string associations, dotted paths and fields included', async () => {
    const reader = await tokenOf(['product:read', 'category:read']);
    await request(t.bare).get(`/api/product/${product}`).set(reader).expect(200);
    const viaGet = await request(t.bare).get(`/api/product/${product}?associations=tax`).set(reader).expect(403);
    expect(viaGet.body.errors[0]).toMatchObject({ code: 'FORBIDDEN', meta: { privilege: 'tax:read' } });
    const viaMapping = await request(t.bare).get(`/api/product/${product}?associations=categories`).set(reader).expect(403);
    expect(viaMapping.body.errors[0].meta.privilege).toBe('product_category:read');
    const viaFields = await request(t.bare).post('/api/search/product').set(reader).send({ fields: ['tax.name'] }).expect(403);
    expect(viaFields.body.errors[0].meta.privilege).toBe('tax:read');
    const viaObject = await request(t.bare).post('/api/search/category').set(reader).send({ associations: { products: { associations: { tax: {} } } } }).expect(403);
    expect(viaObject.body.errors.map((e: { meta: { privilege: string } }) => e.meta.privilege)).toEqual(['product_category:read', 'tax:read']);
  });
});
