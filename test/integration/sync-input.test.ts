import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { count, createTax, sync } from '../support/sync';
import { product } from '../fixtures/catalog';

let t: TestApp;
let small: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  small = await startTestApp({ SYNC_MAX_BODY_BYTES: '2kb', SYNC_MAX_RECORDS: '10' });
});
afterAll(async () => {
  await t.close();
  await small.close();
});

function raw(app: TestApp['app'], body: string | Buffer, type = 'application/json') {
  // serialize(identity): send the bytes as they are, not JSON.stringify of a Buffer.
  return request(app).post('/api/_action/sync').set('content-type', type).serialize((b: unknown) => b as string).send(body as string);
}

function expectNoLeak(body: unknown) {
  const text = JSON.stringify(body);
  expect(text).not.toMatch(/INSERT|SELECT|UPDATE|DELETE FROM|unnest|\bat [\w.]+ \(|node_modules/);
}

describe('malformed input', () => {
  it('refuses a body that is not JSON', async () => {
    const res = await raw(t.app, '{"a": ', 'application/json').expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'BODY_NOT_JSON', source: { pointer: '' } });
    expectNoLeak(res.body);
  });

  it('refuses another content type', async () => {
    const res = await raw(t.app, 'entity=tax', 'application/x-www-form-urlencoded').expect(400);
    expect(res.body.errors[0].code).toBe('BODY_NOT_JSON');
  });

  it('refuses invalid UTF-8 instead of guessing', async () => {
    const body = Buffer.concat([Buffer.from('{"t":{"entity":"tax","action":"upsert","payload":[{"name":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","taxRate":1}]}}')]);
    const res = await raw(t.app, body).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'BODY_NOT_JSON', detail: 'the body is not valid UTF-8' });
  });

  it.each([
    ['a number', 42, 'OPERATION_INVALID', ''],
    ['a string operation', { a: 'upsert' }, 'OPERATION_INVALID', '/a'],
    ['payload as object', { a: { entity: 'tax', action: 'upsert', payload: { name: 'x' } } }, 'OPERATION_INVALID', '/a/payload'],
    ['a record that is a list', { a: { entity: 'tax', action: 'upsert', payload: [[1, 2]] } }, 'VALUE_INVALID', '/a/0'],
    ['a number where a string goes', { a: { entity: 'tax', action: 'upsert', payload: [{ name: 7, taxRate: 1 }] } }, 'VALUE_INVALID', '/a/0/name'],
    ['an object where a number goes', { a: { entity: 'tax', action: 'upsert', payload: [{ name: 'x', taxRate: { v: 1 } }] } }, 'VALUE_INVALID', '/a/0/taxRate'],
    ['a wrong type deep inside json', { a: { entity: 'product', action: 'upsert', payload: [{ price: [{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: '1', net: 1 }] }] } }, 'VALUE_INVALID', '/a/0/price/0/gross'],
    ['an unknown operation property', { a: { entity: 'tax', action: 'upsert', payload: [], upsert: true } }, 'OPERATION_INVALID', '/a/upsert'],
    ['no operations', {}, 'OPERATION_INVALID', ''],
  ])('answers %s with a 400 and a pointer', async (_name, body, code, pointer) => {
    const res = await sync(t.app, body).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code, source: { pointer } });
    expectNoLeak(res.body);
  });

  it('names the path inside a json field, for every problem in it', async () => {
    const res = await sync(t.app, { a: { entity: 'product', action: 'upsert', payload: [{ price: [{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: '1', net: -1, tax: 1 }] }] } }).expect(400);
    const json = res.body.errors.filter((e: { source: { pointer: string } }) => e.source.pointer.startsWith('/a/0/price'));
    expect(json.map((e: { source: { pointer: string } }) => e.source.pointer).sort()).toEqual(['/a/0/price/0/gross', '/a/0/price/0/net', '/a/0/price/0/tax']);
    const many = await sync(t.app, { a: { entity: 'product', action: 'upsert', payload: [{ price: Array.from({ length: 30 }, () => ({ currencyId: 'x', gross: 1, net: 1 })) }] } }).expect(400);
    const priceErrors = many.body.errors.filter((e: { source: { pointer: string } }) => e.source.pointer.startsWith('/a/0/price'));
    expect(priceErrors).toHaveLength(21);
    expect(priceErrors[20].detail).toBe('price: 10 more problem(s) in this value, not listed');
    const gross = json.find((e: { source: { pointer: string } }) => e.source.pointer === '/a/0/price/0/gross');
    expect(gross.detail).toBe('price.0.gross: expected number, got "1"');
  });

  it('refuses a string of megabytes with a short detail', async () => {
    const res = await sync(t.app, { a: { entity: 'tax', action: 'upsert', payload: [{ name: 'x'.repeat(5 * 1024 * 1024), taxRate: 1 }] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/a/0/name' } });
    expect(JSON.stringify(res.body).length).toBeLessThan(1000);
  });

  it('refuses records nested too deeply with a pointer to the deepest level allowed', async () => {
    let category: Record<string, unknown> = { name: 'leaf' };
    for (let i = 0; i < 12; i++) category = { name: `level ${i}`, children: [category] };
    const res = await sync(t.app, { a: { entity: 'category', action: 'upsert', payload: [category] } }).expect(400);
    expect(res.body.errors[0].code).toBe('VALUE_INVALID');
    expect(res.body.errors[0].source.pointer).toMatch(/^\/a\/0(\/children\/0){9}$/);
    expect(await count(t.knex, 'category')).toBe(0);
  });

  it('survives deeply nested JSON arrays', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const res = await raw(t.app, `{"a":{"entity":"tax","action":"upsert","payload":[{"name":${deep},"taxRate":1}]}}`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].code).toMatch(/BODY_NOT_JSON|VALUE_INVALID/);
  });

  it('answers 413 BODY_TOO_LARGE naming the limit', async () => {
    const res = await sync(small.app, { a: { entity: 'tax', action: 'upsert', payload: [{ name: 'x'.repeat(4000), taxRate: 1 }] } }).expect(413);
    expect(res.body.errors[0]).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(res.body.errors[0].detail).toContain('2048');
  });

  it('answers 413 PAYLOAD_TOO_MANY_RECORDS over the record limit', async () => {
    const payload = Array.from({ length: 11 }, (_, i) => ({ name: `t${i}`, taxRate: 1 }));
    const res = await sync(small.app, { a: { entity: 'tax', action: 'upsert', payload } }).expect(413);
    expect(res.body.errors[0].code).toBe('PAYLOAD_TOO_MANY_RECORDS');
    expect(await count(small.knex, 'tax')).toBe(0);
  });

  it('counts nested records against the record limit', async () => {
    const payload = Array.from({ length: 6 }, (_, i) => ({ name: `c${i}`, children: [{ name: `child ${i}` }] }));
    const res = await sync(small.app, { a: { entity: 'category', action: 'upsert', payload } }).expect(413);
    expect(res.body.errors[0]).toMatchObject({ code: 'PAYLOAD_TOO_MANY_RECORDS' });
    expect(res.body.errors[0].detail).toContain('12 records');
    expect(await count(small.knex, 'category')).toBe(0);
  });

  it('refuses an empty body and a list-form key that is not a string', async () => {
    const empty = await raw(t.app, '').expect(400);
    expect(empty.body.errors[0]).toMatchObject({ code: 'BODY_NOT_JSON', detail: 'the body is empty' });
    const gzipped = await request(t.app).post('/api/_action/sync').set('content-type', 'application/json').set('content-encoding', 'gzip').serialize((b: unknown) => b as string).send(gzipSync(Buffer.alloc(0)) as unknown as string).expect(400);
    expect(gzipped.body.errors[0]).toMatchObject({ code: 'BODY_NOT_JSON', detail: 'the body is empty' });
    const key = await sync(t.app, [{ key: 5, entity: 'tax', action: 'upsert', payload: [] }]).expect(400);
    expect(key.body.errors[0]).toMatchObject({ code: 'OPERATION_INVALID', source: { pointer: '/0/key' } });
  });

  it('refuses a corrupt compressed body as the client\'s fault', async () => {
    const res = await request(t.app).post('/api/_action/sync').set('content-type', 'application/json').set('content-encoding', 'gzip').serialize((b: unknown) => b as string).send(Buffer.from('not gzip at all') as unknown as string);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].code).toBe('BODY_NOT_JSON');
  });

  it('does not leak SQL when the database refuses a value', async () => {
    const taxId = await createTax(t.app);
    // 2^31 passes the int validator's bound check only if the bound were missing; this checks the bound instead.
    const res = await sync(t.app, { a: { entity: 'product', action: 'upsert', payload: [product(taxId, 1, { stock: 2 ** 31 })] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/a/0/stock' } });
    expectNoLeak(res.body);
  });

  it('echoes x-request-id and makes one when none is given', async () => {
    const res = await sync(t.app, {}, { 'x-request-id': 'abc-123' });
    expect(res.headers['x-request-id']).toBe('abc-123');
    const other = await sync(t.app, {});
    expect(other.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('characters PostgreSQL cannot store', () => {
  it('refuses the NUL character in a value, a json field and a criteria value with 400 and a pointer', async () => {
    const a = await sync(t.app, { a: { entity: 'tax', action: 'upsert', payload: [{ name: 'a\u0000b', taxRate: 1 }] } }).expect(400);
    expect(a.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/a/0/name' } });
    expect(a.body.errors[0].detail).toContain('NUL');
    const b = await sync(t.app, { b: { entity: 'category', action: 'upsert', payload: [{ name: 'x', externalId: 'ok' }] }, c: { entity: 'category', action: 'delete', criteria: [{ type: 'contains', field: 'name', value: 'a\u0000' }] } }).expect(400);
    expect(b.body.errors[0]).toMatchObject({ code: 'CRITERIA_INVALID', source: { pointer: '/c/criteria/0/value' } });
    const c = await sync(t.app, { c: { entity: 'category', action: 'delete', criteria: [{ type: 'equals', field: 'name', value: 'a\u0000' }] } }).expect(400);
    expect(c.body.errors[0].code).toBe('CRITERIA_INVALID');
    expect(await count(t.knex, 'category')).toBe(0);
  });

  it('with fail-on-error: false, the record with a NUL fails alone', async () => {
    const res = await sync(t.app, { a: { entity: 'tax', action: 'upsert', payload: [{ name: 'fine-nul-test', taxRate: 1 }, { name: 'bad\u0000', taxRate: 1 }] } }, { 'fail-on-error': 'false' }).expect(200);
    expect(res.headers['x-sync-errors']).toBe('1');
    expect(await t.knex('tax').where({ name: 'fine-nul-test' })).toHaveLength(1);
  });

  it('says which bound an integer breaks', async () => {
    const taxId = await createTax(t.app);
    const res = await sync(t.app, { a: { entity: 'product', action: 'upsert', payload: [product(taxId, 1, { stock: 3_000_000_000 })] } }).expect(400);
    expect(res.body.errors[0].detail).toBe('stock: expected an integer of at most 2147483647, got 3000000000');
  });
});

describe('texts larger than a search vector holds', () => {
  it('writes a product whose description of 1 MB has 30,000 distinct words, with inline indexing, and finds it by its first words', async () => {
    // Found by looking for what the fuzzer's huge strings miss (repeated characters make a small vector): the search
    // indexer's tsvector went past PostgreSQL's 1 MB limit and the sync answered 500.
    const taxId = await createTax(t.app);
    const words = Array.from({ length: 30_000 }, (_, i) => createHash('md5').update(String(i)).digest('hex'));
    const p = product(taxId, 9001, { description: words.join(' ') });
    await sync(t.app, { a: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const found = await request(t.app).post('/api/search/product').send({ term: words[0], fields: ['id'] }).expect(200);
    expect(found.body.data).toEqual([{ id: p.id, _version: expect.any(String) }]);
  });
});

describe('names that every JavaScript object has', () => {
  it.each(['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf'])('treats "%s" as an unknown field, not a crash', async (name) => {
    const body = JSON.parse(`{"a":{"entity":"tax","action":"upsert","payload":[{"name":"p","taxRate":1,"${name}":1}]}}`);
    const res = await raw(t.app, JSON.stringify(body)).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'FIELD_UNKNOWN', source: { pointer: `/a/0/${name}` } });
    const search = await request(t.app).post('/api/search/product').send({ associations: [name] });
    expect(search.status).toBe(400);
    const header = await sync(t.app, { a: { entity: 'tax', action: 'upsert', payload: [] } }, { 'indexing-behavior': name }).expect(400);
    expect(header.body.errors[0].code).toBe('HEADER_INVALID');
  });
});
