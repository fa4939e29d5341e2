import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { compileErrors, validate } from '@readme/openapi-parser';
import request from 'supertest';
import { Integrations } from '../../src/auth/integrations';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { readDocExamples } from '../support/doc-examples';
import { sync } from '../support/sync';
import { until } from '../support/poll';
import { hexId, price, product } from '../fixtures/catalog';

let t: TestApp;
let doc: Doc;
beforeAll(async () => {
  // A low record cap and token-failure limit, so that 413 and 429 can be asked for with small requests.
  t = await startTestApp({ SYNC_MAX_RECORDS: '20', TOKEN_FAILURES_PER_15_MINUTES: '2' });
  doc = (await request(t.app).get('/api/_info/openapi.json').expect(200)).body;
});
afterAll(() => t.close());

type Schema = Record<string, unknown> | boolean;
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Obj>>;
  components: { schemas: Record<string, Obj>; parameters: Record<string, Obj>; headers: Record<string, Obj>; responses: Record<string, Obj>; securitySchemes: Record<string, Obj> };
  [k: string]: unknown;
}

const JSON_API = 'application/vnd.api+json';
/** Rough forms of the formats the document uses; enough to tell a value of the wrong kind. */
const FORMATS: Record<string, RegExp> = {
  email: /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
  uri: /^[a-z][a-z0-9+.-]*:\/\/\S+$/i,
  'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/,
};
const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Follows a local `$ref` (any depth of the document: schemas, parameters, responses, headers). */
function deref<T = Obj>(d: Doc, node: unknown): T {
  let n = node as Obj;
  while (n && typeof n.$ref === 'string') {
    n = (n.$ref as string)
      .slice(2)
      .split('/')
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce<Obj>((o, k) => o?.[k], d as Obj);
    if (n === undefined) throw new Error(`dangling $ref ${(node as Obj).$ref}`);
  }
  return n as T;
}

/**
 * Checks a value against the subset of JSON Schema the document uses (type, const, enum, pattern, format, bounds, items,
 * properties, required, additionalProperties, propertyNames, oneOf, anyOf, allOf, $ref, boolean schemas); returns
 * the paths that do not fit. Strict where the document is silent: an object schema with properties and no
 * additionalProperties takes no other keys, so the document must name every key the API answers.
 */
function misfits(d: Doc, schema: Schema, value: unknown, at = ''): string[] {
  if (schema === true) return [];
  if (schema === false) return [`${at}: not allowed`];
  if (typeof schema.$ref === 'string') return misfits(d, deref(d, schema), value, at);
  const out: string[] = [];
  for (const s of (schema.allOf as Schema[] | undefined) ?? []) out.push(...misfits(d, s, value, at));
  if (Array.isArray(schema.oneOf)) {
    const results = (schema.oneOf as Schema[]).map((s) => misfits(d, s, value, at));
    const fits = results.filter((r) => r.length === 0).length;
    if (fits === 0) {
      const closest = results.reduce((a, b) => (b.length < a.length ? b : a));
      out.push(`${at}: fits none of oneOf (closest: ${closest.join('; ')})`);
    } else if (fits > 1) out.push(`${at}: fits ${fits} of oneOf`);
  }
  if (Array.isArray(schema.anyOf) && !(schema.anyOf as Schema[]).some((s) => misfits(d, s, value, at).length === 0)) out.push(`${at}: fits none of anyOf`);
  if ('const' in schema && !isDeepStrictEqual(schema.const, value)) out.push(`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  const type = schema.type;
  const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (type !== undefined && type !== actual && !(type === 'number' && actual === 'integer')) return [...out, `${at}: ${actual} is not ${String(type)}`];
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => isDeepStrictEqual(e, value))) out.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (typeof value === 'string') {
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern).test(value)) out.push(`${at}: ${value} does not match`);
    if (typeof schema.maxLength === 'number' && value.length > schema.maxLength) out.push(`${at}: longer than ${schema.maxLength}`);
    const format = FORMATS[schema.format as string];
    if (format && !format.test(value)) out.push(`${at}: ${value} is not ${String(schema.format)}`);
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) out.push(`${at}: below ${schema.minimum}`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) out.push(`${at}: above ${schema.maximum}`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) out.push(`${at}: fewer than ${schema.minItems} items`);
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) out.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items !== undefined) value.forEach((v, i) => out.push(...misfits(d, schema.items as Schema, v, `${at}/${i}`)));
  }
  if (actual === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const k of (schema.required as string[] | undefined) ?? []) if (!(k in obj)) out.push(`${at}/${k}: missing`);
    if (typeof schema.minProperties === 'number' && Object.keys(obj).length < schema.minProperties) out.push(`${at}: fewer than ${schema.minProperties} properties`);
    const names = (schema.propertyNames as Obj | undefined)?.enum as unknown[] | undefined;
    for (const [k, v] of Object.entries(obj)) {
      if (names && !names.includes(k)) out.push(`${at}/${k}: not an allowed name`);
      if (k in props) out.push(...misfits(d, props[k]!, v, `${at}/${k}`));
      else if (schema.additionalProperties !== undefined) out.push(...misfits(d, schema.additionalProperties as Schema, v, `${at}/${k}`));
      else if (schema.properties) out.push(`${at}/${k}: not in the document`);
    }
  }
  return out;
}

/** The schema of an operation's answer with that status. */
function answerSchema(d: Doc, route: string, method: string, status: number): Schema {
  const res = deref(d, d.paths[route]![method]!.responses[status]);
  const content = res.content as Record<string, { schema: Schema }>;
  return (content['application/json'] ?? content[JSON_API])!.schema;
}

/** Whether an answer fits what the document says for its route and status, headers included. */
function answerMisfits(d: Doc, route: string, method: string, res: request.Response): string[] {
  const documented = d.paths[route]![method]!.responses[res.status];
  if (!documented) return [`${method} ${route}: status ${res.status} is not documented`];
  const out = misfits(d, answerSchema(d, route, method, res.status), res.body);
  const headers = (deref(d, documented).headers ?? {}) as Record<string, Obj>;
  for (const [name, h] of Object.entries(headers)) {
    const v = res.headers[name.toLowerCase()];
    if (v !== undefined) out.push(...misfits(d, deref(d, h).schema, v, `header ${name}`));
  }
  return out;
}

function operations(d: Doc): { route: string; method: string; op: Obj }[] {
  return Object.entries(d.paths).flatMap(([route, item]) => METHODS.filter((m) => item[m]).map((method) => ({ route, method, op: item[method]! })));
}

async function integrationToken(privileges: string[]): Promise<string> {
  const { integration, secret } = await new Integrations(t.knex).create({ name: `openapi ${privileges.join(' ')}`, privileges });
  const res = await request(t.bare).post('/api/oauth/token').send({ grant_type: 'client_credentials', client_id: integration.clientId, client_secret: secret }).expect(200);
  return res.body.access_token;
}

describe('GET /api/_info/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document (@readme/openapi-parser: the 3.1 schema and the specification rules)', async () => {
    // validate() dereferences in place: hand it a copy.
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
    expect(result.warnings).toEqual([]);
    // The validator does catch a broken document: a path parameter that is not declared, a response without description.
    const broken = structuredClone(doc);
    broken.paths['/api/tax/{taxId}'] = { get: { responses: { 200: {} } } };
    const refused = await validate(broken as never);
    expect(refused.valid).toBe(false);
  });

  it('describes every entity, without unreadable fields, with the routes each one has', async () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const e of t.registry.all()) {
      expect(doc.components.schemas[e.name]).toBeDefined();
      expect(doc.components.schemas[`${e.name}.write`]).toBeDefined();
      expect(doc.paths[`/api/search/${e.name}`]!.post).toBeDefined();
      expect(Boolean(doc.paths[`/api/${e.name}/{id}`])).toBe(e.primaryKey.length === 1);
    }
    expect(Object.keys(doc.components.schemas.product!.properties)).not.toContain('searchKeywords');
    for (const route of ['/api/_action/changes', '/api/_action/indexing/status', '/api/_info/openapi.json']) expect(doc.paths[route]!.get).toBeDefined();
    for (const route of ['/api/_action/sync', '/api/_action/index', '/api/oauth/token']) expect(doc.paths[route]!.post).toBeDefined();
  });

  it('has a write schema per entity: writable fields only, required ones marked, nested associations, ids or resolvers', () => {
    for (const e of t.registry.all()) {
      const w = doc.components.schemas[`${e.name}.write`]!;
      const writable = e.fieldList.filter((f) => !f.writeProtected);
      // _version: the precondition every record may carry (VERSION_CONFLICT when the stored record moved on).
      expect(Object.keys(w.properties).sort()).toEqual([...writable.map((f) => f.name), ...Object.keys(e.associations), '_version'].sort());
      expect(w.additionalProperties).toBe(false);
      // A merge may leave out any field, so nothing is `required`; what creating a record needs is marked.
      expect(w.required).toBeUndefined();
      const keys = e.primaryKey.length > 1 ? e.primaryKey : [];
      expect([...w['x-required-on-create']].sort()).toEqual([...new Set([...keys, ...writable.filter((f) => f.required).map((f) => f.name)])].sort());
      for (const f of writable) {
        const s = w.properties[f.name];
        if (f.required && !e.primaryKey.includes(f.name)) expect(s.description).toContain('required to create');
        if (f.kind !== 'id' && f.kind !== 'fk') continue;
        const target = f.kind === 'fk' ? f.references! : e.name;
        expect(misfits(doc, s, hexId())).toEqual([]);
        expect(misfits(doc, s, '0189BF2A-627A-7296-ADBC-83527BA9AC29')).toEqual([]);
        expect(misfits(doc, s, 'not-an-id')).not.toEqual([]);
        expect(misfits(doc, s, null).length === 0).toBe(f.nullable);
        const resolvers = t.registry.resolverNames().filter((n) => n.startsWith(`${target}.`));
        expect((s.oneOf ?? []).some((x: Obj) => x.$ref === `#/components/schemas/${target}.resolver`)).toBe(resolvers.length > 0);
        for (const name of resolvers) expect(JSON.stringify(doc.components.schemas[`${target}.resolver`])).toContain(`"${name}"`);
      }
      for (const a of Object.values(e.associations)) {
        const s = w.properties[a.name];
        // translations: keyed by language, or a list naming languageId.
        if (a.entity === e.translation?.entity) expect(s.oneOf.map((o: { type: string }) => o.type)).toEqual(['object', 'array']);
        else expect(a.type === 'manyToOne' ? s.$ref : s.items.$ref).toBe(`#/components/schemas/${a.entity}.write`);
      }
    }
    const address = doc.components.schemas['customer_address.write']!.properties;
    expect(misfits(doc, address.countryId, { resolver: 'country.iso', value: 'DE', nullOnMissing: false })).toEqual([]);
    expect(misfits(doc, address.countryId, { resolver: 'country.iso' })).not.toEqual([]);
    expect(misfits(doc, address.countryId, { resolver: 'product.number', value: 'DE' })).not.toEqual([]);
    expect(misfits(doc, doc.components.schemas['product_category.write']!.properties.productId, { resolver: 'product.number', value: 'SW-1' })).toEqual([]);
    // tax has no unique key, so no resolver: a product's taxId is an id.
    expect(misfits(doc, doc.components.schemas['product.write']!.properties.taxId, { resolver: 'tax.name', value: 'T' })).not.toEqual([]);
    const categoryWrite = doc.components.schemas['category.write']!;
    expect(misfits(doc, categoryWrite, { name: 'C', level: 2 })).toEqual(['/level: not allowed']);
    expect(misfits(doc, doc.components.schemas['product.write']!, product(hexId(), 1, { categoryTree: [] }))).toEqual(['/categoryTree: not allowed']);
  });

  it('documents the sync endpoint: operations, answer, errors, headers', () => {
    const sync = doc.paths['/api/_action/sync']!.post!;
    const body = sync.requestBody.content['application/json'].schema;
    expect(body.oneOf.map((s: Obj) => s.type)).toEqual(['object', 'array']);
    expect(body.oneOf[0].additionalProperties.$ref).toBe('#/components/schemas/SyncOperation');
    expect(body.oneOf[1].items.$ref).toBe('#/components/schemas/SyncOperation');
    const variants = (doc.components.schemas.SyncOperation!.oneOf as Obj[]).map((v) => deref(doc, v));
    expect(variants).toHaveLength(2 * t.registry.all().filter((e) => !e.readOnly).length);
    const fields = new Set(variants.flatMap((v) => Object.keys(v.properties)));
    expect([...fields].sort()).toEqual(['action', 'criteria', 'entity', 'key', 'matchBy', 'missing', 'mode', 'payload']);

    expect(Object.keys(doc.components.schemas.SyncResult!.properties).sort()).toEqual(['data', 'deleted', 'errors', 'extensions', 'notFound', 'skipped']);
    for (const status of [400, 401, 403, 409, 413, 429, 500]) {
      const res = deref(doc, sync.responses[status]);
      expect(res.content[JSON_API].schema.$ref).toBe('#/components/schemas/Errors');
    }
    const error = doc.components.schemas.Error!;
    expect(Object.keys(error.properties).sort()).toEqual(['code', 'detail', 'meta', 'source', 'status', 'title']);
    expect(Object.keys(error.properties.source.properties)).toEqual(['pointer']);

    const params = (sync.parameters as Obj[]).map((p) => deref(doc, p)).map((p) => `${p.in}:${p.name}`);
    expect(params.sort()).toEqual([
      'header:Content-Encoding',
      'header:Idempotency-Key',
      'header:Prefer',
      'header:dry-run',
      'header:fail-on-error',
      'header:indexing-behavior',
      'header:indexing-skip',
      'header:single-operation',
      'header:sw-language-id',
      'header:sw-skip-trigger-flow',
      'header:x-request-id',
    ]);
    expect(Object.keys(sync.responses[200].headers).sort()).toEqual(['Idempotent-Replayed', 'Preference-Applied', 'x-dry-run', 'x-indexing', 'x-indexing-skip-ignored', 'x-request-id', 'x-sync-errors']);
    expect(Object.keys(sync.responses[202].headers).sort()).toEqual(['Idempotent-Replayed', 'Location', 'Preference-Applied', 'x-request-id']);
    expect(Object.keys(sync.requestBody.content).sort()).toEqual(['application/json', 'application/x-ndjson']);
    expect(sync.responses[412]).toBeDefined();
    expect(deref(doc, doc.components.parameters.IndexingSkip).description).toContain('product.search');
  });

  it('fits every request and answer of docs/sync-api.md and docs/recipes.md', () => {
    const examples = ['docs/sync-api.md', 'docs/recipes.md'].flatMap((f) => readDocExamples(path.join(ROOT, f)).map((e) => ({ ...e, file: f })));
    expect(examples.length).toBeGreaterThan(20);
    const bodySchema = doc.paths['/api/_action/sync']!.post!.requestBody.content['application/json'].schema;
    const newIds = (v: unknown): unknown =>
      v === '<new id>' ? hexId() : Array.isArray(v) ? v.map(newIds) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, newIds(x)])) : v;
    // A request the API takes whole must fit; one it refuses for the shape of a value (unknown field, wrong type,
    // out of bounds) must not. Refusals the document cannot see (a missing reference, a conflict) may fit.
    const shapeError = (e: { code: string; detail: string }) =>
      ['FIELD_UNKNOWN', 'FIELD_WRITE_PROTECTED', 'ID_INVALID'].includes(e.code) || (e.code === 'VALUE_INVALID' && e.detail.includes('expected'));
    const wrong = examples.flatMap((e) => {
      const errors = ((e.response as { errors?: { code: string; detail: string }[] }).errors ?? []);
      // NDJSON bodies are text to the document: their lines are the operations and records checked below as JSON.
      const requestMisfits = e.ndjson === undefined ? misfits(doc, bodySchema, e.request) : [];
      return [
        ...(errors.length === 0 ? requestMisfits.map((m) => `${e.file}:${e.line} request ${m}`) : []),
        ...(e.ndjson === undefined && errors.some(shapeError) && requestMisfits.length === 0 ? [`${e.file}:${e.line} request fits, but the API refuses its shape`] : []),
        ...misfits(doc, answerSchema(doc, '/api/_action/sync', 'post', e.status), newIds(e.response)).map((m) => `${e.file}:${e.line} response ${m}`),
      ];
    });
    expect(wrong).toEqual([]);
    // The checker does catch a misfit in a request.
    expect(misfits(doc, bodySchema, { w: { entity: 'tax', action: 'upsert', payload: [{ name: 'T', taxRate: 'high' }] } }).join()).toContain(
      '(closest: /w/payload/0/taxRate: string is not number)',
    );
    expect(misfits(doc, bodySchema, { w: { entity: 'tax', action: 'delete', payload: [{ id: hexId() }], mode: 'replace' } })).not.toEqual([]);
  });

  it('matches what the API answers: a record with its associations, a search page, the feed', async () => {
    const tax = hexId();
    const product = hexId();
    await sync(t.app, {
      t: { entity: 'tax', action: 'upsert', payload: [{ id: tax, name: 'T', taxRate: 19 }] },
      p: { entity: 'product', action: 'upsert', payload: [{ id: product, productNumber: 'O-1', name: 'P', stock: 1, price: price(), taxId: tax, categories: [{ name: 'C' }] }] },
    }).expect(200);
    const record = (await request(t.app).get(`/api/product/${product}?associations=tax,manufacturer,categories`).expect(200)).body.data;
    expect(misfits(doc, doc.components.schemas.product!, record)).toEqual([]);
    const category = (await request(t.app).get(`/api/category/${record.categories[0].id}?associations=parent,children,products`).expect(200)).body.data;
    expect(category.breadcrumb).toEqual(['C']);
    expect(misfits(doc, doc.components.schemas.category!, category)).toEqual([]);
    const page = await request(t.app).post('/api/search/product_category').send({ associations: ['product', 'category'], limit: 1, 'total-count-mode': 'exact' }).expect(200);
    expect(answerMisfits(doc, '/api/search/product_category', 'post', page)).toEqual([]);
    const feed = await request(t.app).get('/api/_action/changes').expect(200);
    expect(answerMisfits(doc, '/api/_action/changes', 'get', feed)).toEqual([]);
    // The checker does catch a misfit.
    expect(misfits(doc, doc.components.schemas.product!, { ...record, stock: 'many', extra: 1 })).toEqual(['/stock: string is not integer', '/extra: not in the document']);
  });

  it('matches what the sync endpoint answers: partial success, create-only, queued indexing, and its errors', async () => {
    const route = '/api/_action/sync';
    const check = (res: request.Response) => expect(answerMisfits(doc, route, 'post', res)).toEqual([]);
    const taxes = [{ name: 'A', taxRate: 5 }, { name: 'B', taxRate: 500 }, { name: 'C', taxRate: 7 }];
    const partial = await sync(t.app, { w: { entity: 'tax', action: 'upsert', payload: taxes } }, { 'fail-on-error': 'false', 'indexing-behavior': 'use-queue-indexing' }).expect(200);
    expect(partial.headers['x-sync-errors']).toBe('1');
    expect(partial.headers['x-indexing']).toMatch(/^queued /);
    check(partial);
    const email = `${hexId()}@example.com`;
    const customer = { email, customerNumber: hexId(), firstName: 'A', lastName: 'B' };
    await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [customer] } }).expect(200);
    const createOnly = await sync(t.app, [{ entity: 'customer', action: 'upsert', mode: 'create-only', matchBy: ['email'], payload: [customer] }], { 'indexing-behavior': 'disable-indexing' }).expect(200);
    expect(createOnly.body.skipped.customer).toHaveLength(1);
    check(createOnly);
    const tax = partial.body.data.tax[0];
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(tax, 9001)] } }).expect(200);
    const deleted = await sync(t.app, { d: { entity: 'tax', action: 'delete', payload: [{ id: partial.body.data.tax[1] }, { id: hexId() }] } }).expect(200);
    check(deleted);

    check(await sync(t.app, { d: { entity: 'tax', action: 'delete', payload: [{ id: tax }] } }).expect(409));
    check(await sync(t.app, { w: { entity: 'tax', action: 'upsert', payload: [{ name: 'x', taxRate: 1 }] } }, { 'indexing-behavior': 'sometimes' }).expect(400));
    check(await sync(t.app, { w: { entity: 'tax', action: 'upsert', payload: Array.from({ length: 21 }, (_, i) => ({ name: `n${i}`, taxRate: 1 })) } }).expect(413));
    check(await request(t.app).post(route).set('content-type', 'text/plain').send('x').expect(400));
    const reader = await integrationToken(['tax:read']);
    check(await sync(t.bare, { w: { entity: 'tax', action: 'upsert', payload: [{ name: 'x', taxRate: 1 }] } }, { authorization: `Bearer ${reader}` }).expect(403));
    check(await sync(t.bare, {}).expect(401));
  });

  it('matches what the imports answer: dry runs, idempotency keys, async jobs (docs/sync-jobs.md)', async () => {
    const route = '/api/_action/sync';
    const check = (r: string, method: string, res: request.Response) => expect(answerMisfits(doc, r, method, res)).toEqual([]);
    const body = { w: { entity: 'tax', action: 'upsert', payload: [{ name: 'Imports', taxRate: 1 }] } };
    check(route, 'post', await sync(t.app, body, { 'dry-run': 'true' }).expect(200));
    check(route, 'post', await sync(t.app, body, { 'dry-run': 'maybe' }).expect(400));
    check(route, 'post', await sync(t.app, body, { 'Idempotency-Key': 'openapi-1' }).expect(200));
    const replayed = await sync(t.app, body, { 'Idempotency-Key': 'openapi-1' }).expect(200);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    check(route, 'post', replayed);
    check(route, 'post', await sync(t.app, { ...body, x: body.w }, { 'Idempotency-Key': 'openapi-1' }).expect(422));
    const accepted = await sync(t.app, body, { prefer: 'respond-async' }).expect(202);
    check(route, 'post', accepted);
    const jobs = '/api/_action/sync/jobs';
    check(`${jobs}/{id}`, 'get', await request(t.app).get(accepted.headers.location).expect(200));
    check(jobs, 'get', await request(t.app).get(jobs).expect(200));
    check(jobs, 'get', await request(t.app).get(`${jobs}?limit=500`).expect(400));
    check(`${jobs}/{id}`, 'delete', await request(t.app).delete(accepted.headers.location).expect(200));
    check(`${jobs}/{id}`, 'delete', await request(t.app).delete(accepted.headers.location).expect(409));
    check(`${jobs}/{id}`, 'get', await request(t.app).get(`${jobs}/nope`).expect(404));
    // A finished job with its result fits too (run here by a worker).
    const run = await sync(t.app, body, { prefer: 'respond-async' }).expect(202);
    await t.startWorker();
    const done = await until(() => request(t.app).get(run.headers.location), (r) => r.body.status === 'succeeded');
    check(`${jobs}/{id}`, 'get', done);
  });

  it('matches what the token, indexing and info routes answer', async () => {
    const token = '/api/oauth/token';
    const check = (route: string, method: string, res: request.Response) => expect(answerMisfits(doc, route, method, res)).toEqual([]);
    const good = { grant_type: 'client_credentials', client_id: 'test-admin', client_secret: 'test-admin-secret' };
    check(token, 'post', await request(t.bare).post(token).send(good).expect(200));
    check(token, 'post', await request(t.bare).post(token).type('form').send(good).expect(200));
    check(token, 'post', await request(t.bare).post(token).auth('test-admin', 'test-admin-secret').type('form').send({ grant_type: 'client_credentials' }).expect(200));
    check(token, 'post', await request(t.bare).post(token).send({ ...good, grant_type: 'password' }).expect(400));
    check(token, 'post', await request(t.bare).post(token).send({ ...good, client_secret: 'wrong' }).expect(401));
    const limited = await request(t.bare).post(token).send({ ...good, client_secret: 'wrong' }).expect(429);
    expect(limited.headers['retry-after']).toMatch(/^[0-9]+$/);
    check(token, 'post', limited);

    check('/api/_action/index', 'post', await request(t.app).post('/api/_action/index').send({ indexers: ['category.tree'] }).expect(202));
    check('/api/_action/index', 'post', await request(t.app).post('/api/_action/index').send({ indexers: ['nope'] }).expect(400));
    check('/api/_action/indexing/status', 'get', await request(t.app).get('/api/_action/indexing/status').expect(200));
    const indexers = (deref(doc, doc.paths['/api/_action/index']!.post!.requestBody).content['application/json'].schema.properties.indexers.items.enum as string[]).sort();
    expect(indexers).toEqual(t.indexers.names().sort());
    check('/api/_info/openapi.json', 'get', await request(t.app).get('/api/_info/openapi.json').expect(200));
  });

  it('has a bearer scheme (JWT, client credentials at /api/oauth/token) on every /api route but the token route, as the app does', async () => {
    const { bearer, oauth2 } = doc.components.securitySchemes;
    expect(bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(oauth2).toMatchObject({ type: 'oauth2', flows: { clientCredentials: { tokenUrl: '/api/oauth/token', scopes: {} } } });
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(2 * t.registry.all().length);
    for (const { route, method, op } of ops) {
      const needsToken = route.startsWith('/api/') && route !== '/api/oauth/token';
      expect({ route, security: op.security }).toEqual({ route, security: needsToken ? [{ bearer: [] }, { oauth2: [] }] : [] });
      const url = route.replace('{id}', hexId());
      const send = (app: typeof t.app) =>
        method === 'get' ? request(app).get(url) : method === 'delete' ? request(app).delete(url) : request(app).post(url).set('content-type', 'text/plain').send('x');
      // Without a token the app refuses exactly the routes the document says need one, as documented.
      const bare = await send(t.bare);
      if (needsToken) {
        expect({ route, status: bare.status }).toEqual({ route, status: 401 });
        expect(answerMisfits(doc, route, method, bare)).toEqual([]);
        expect(bare.headers['www-authenticate']).toMatch(/^Bearer /);
      } else expect({ route, status: bare.status }).not.toEqual({ route, status: 401 });
      // With one, every documented route exists (a non-JSON body is refused before anything is written).
      const authed = await send(t.app);
      expect({ route, body: authed.body?.errors?.[0]?.detail ?? '' }).not.toEqual({ route, body: expect.stringMatching(/^no route/) });
      expect({ route, status: authed.status, documented: Boolean(op.responses[authed.status]) }).toEqual({ route, status: authed.status, documented: true });
    }
  });
});
