import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { count, sync } from '../support/sync';
import { sendHalfClosed, type RawAnswer } from '../support/raw-http';

/**
 * Bodies the fuzzer found answered with a 500 or a cut answer: each is a 4xx with a stable code and pointer, whole,
 * and writes nothing.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
}, 60_000);
afterAll(() => t?.close());

/** Compressed bodies go through fetch: supertest re-encodes a Buffer it is given with a Content-Encoding. */
async function compressed(encoding: string, body: Buffer, path = '/api/_action/sync', extra: Record<string, string> = {}): Promise<{ status: number; body: { errors?: { code: string; source?: { pointer: string } }[] } }> {
  const server = http.createServer(t.app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding, authorization: `Bearer ${t.token}`, ...extra },
      body,
    });
    return { status: res.status, body: (await res.json()) as { errors?: { code: string; source?: { pointer: string } }[] } };
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

describe('decompression failures', () => {
  const corrupt = Buffer.from('{}');
  it.each(['br', 'gzip', 'deflate'])('a corrupt %s stream is a 400 BODY_NOT_JSON', async (encoding) => {
    const res = await compressed(encoding, corrupt);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({ code: 'BODY_NOT_JSON', source: { pointer: '' } });
  });

  it.each([
    ['/api/search/tax', {}],
    ['/api/_action/sync', { prefer: 'respond-async' }],
  ])('a corrupt brotli stream to %s %j is a 400', async (path, extra) => {
    const res = await compressed('br', corrupt, path, extra);
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.code).toBe('BODY_NOT_JSON');
  });

  it('a brotli stream cut in the middle is a 400', async () => {
    const whole = brotliCompressSync(Buffer.from(JSON.stringify({ t: { entity: 'tax', action: 'upsert', payload: [{ name: 'x'.repeat(5000), taxRate: 1 }] } })));
    const res = await compressed('br', whole.subarray(0, Math.floor(whole.length / 2)));
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]?.code).toBe('BODY_NOT_JSON');
  });

  it('a good brotli or gzip body still writes', async () => {
    for (const [encoding, pack] of [
      ['br', brotliCompressSync],
      ['gzip', gzipSync],
    ] as const) {
      const body = pack(Buffer.from(JSON.stringify({ t: { entity: 'tax', action: 'upsert', payload: [{ name: `packed ${encoding}`, taxRate: 2 }] } })));
      expect((await compressed(encoding, body)).status).toBe(200);
    }
    expect(await t.knex('tax').whereIn('name', ['packed br', 'packed gzip']).pluck('name')).toHaveLength(2);
  });
});

describe('resolvers and prototype names where plain keys are expected', () => {
  it('a resolver as a delete key is a 400 at the key', async () => {
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', payload: [{ id: { resolver: '__proto__.x', value: null } }] } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].source.pointer).toBe('/d/0/id');
  });

  it.each([
    [{}, 'tax', 'id'],
    [{ 'fail-on-error': 'false' }, 'tax', 'id'],
    [{ 'dry-run': 'true' }, 'tax', 'id'],
    [{}, 'product_category', 'productId'],
    [{ 'fail-on-error': 'false' }, 'product_category', 'categoryId'],
  ])('with headers %j a resolver as a %s delete key is never a 500', async (headers, entity, field) => {
    const key = entity === 'tax' ? {} : { productId: '2fbb5fe2e29a4d70aa5854ce7ce3e20b', categoryId: '2fbb5fe2e29a4d70aa5854ce7ce3e20b' };
    const res = await sync(t.app, { d: { entity, action: 'delete', payload: [{ ...key, [field]: { resolver: '__proto__.x', value: null } }] } }, headers);
    expect(res.status).toBeLessThan(500);
    const errors: { source: { pointer: string } }[] = res.body.errors;
    expect(errors.map((e) => e.source.pointer)).toContain(`/d/0/${field}`);
  });

  it('a resolver as a criteria value of a delete is never a 500', async () => {
    const criteria = [{ type: 'equals', field: 'id', value: { resolver: '__proto__.x', value: null } }];
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', criteria } });
    expect(res.status).toBe(400);
  });

  it('a real resolver as a delete key is a 400 at the key too', async () => {
    const res = await sync(t.app, { d: { entity: 'product', action: 'delete', payload: [{ id: { resolver: 'product.number', value: 'SW-1' } }] } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].source.pointer).toBe('/d/0/id');
  });

  it.each(
    ['hasOwnProperty', 'constructor', '__proto__', 'toString', 'valueOf'].flatMap((name) => [
      [name, 'merge'],
      [name, 'replace'],
    ]),
  )('a record key named %s is FIELD_UNKNOWN at its pointer (mode %s)', async (name, mode) => {
    const before = await count(t.knex, 'tax');
    // Without its name in replace mode: the check of required fields looks at the record's own keys.
    const text = `{"u":{"entity":"tax","action":"upsert","mode":"${mode}","payload":[{"taxRate":3,"${name}":1}]}}`;
    const res = await request(t.app).post('/api/_action/sync').set('content-type', 'application/json').send(text);
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ code: 'FIELD_UNKNOWN', source: { pointer: `/u/0/${name}` } }));
    expect(await count(t.knex, 'tax')).toBe(before);
  });

  it.each(['hasOwnProperty', '__proto__'])('a delete key named %s is FIELD_UNKNOWN at its pointer', async (name) => {
    const text = `{"d":{"entity":"tax","action":"delete","payload":[{"${name}":1}]}}`;
    const res = await request(t.app).post('/api/_action/sync').set('content-type', 'application/json').send(text);
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual(expect.objectContaining({ code: 'FIELD_UNKNOWN', source: { pointer: `/d/0/${name}` } }));
  });
});

describe('an answer given before the body is read', () => {
  /**
   * Sends `body` over a plain socket as a simple uploader does (everything written, then the answer read) and
   * returns what came back, or the socket's error.
   */
  async function post(body: Buffer, extraHead = ''): Promise<RawAnswer> {
    const server = http.createServer(t.app).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as AddressInfo;
    try {
      const head =
        'POST /api/_action/sync HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        `Authorization: Bearer ${t.token}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${extraHead}\r\n`;
      return await sendHalfClosed(port, head, body);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }

  const records = Array.from({ length: 12_000 }, (_, i) => ({ name: `n${i}`, note: 'x'.repeat(64) }));
  const unknown = Buffer.from(JSON.stringify([{ entity: 'no_such_entity', action: 'upsert', payload: records }]));
  it.each([
    ['an unknown entity', unknown, '', 'ENTITY_UNKNOWN'],
    ['an unknown entity and a header refused before reading', unknown, 'indexing-behavior: sometimes\r\n', 'HEADER_INVALID'],
    [
      'more problems than are reported',
      Buffer.from(JSON.stringify([{ entity: 'tax', action: 'upsert', payload: records }])),
      '',
      'FIELD_UNKNOWN',
    ],
    ['a syntax error at its start', Buffer.concat([Buffer.from('[{,'), unknown]), '', 'BODY_NOT_JSON'],
  ])('a 1 MB body with %s gets its whole 400, and the upload is not reset', async (_what, body, extraHead, code) => {
    expect(body.length).toBeGreaterThan(1_000_000);
    for (let round = 0; round < 3; round++) {
      const res = await post(body, extraHead);
      expect(res.error).toBeUndefined();
      const [head, text] = res.answer.split('\r\n\r\n') as [string, string];
      expect(head).toMatch(/^HTTP\/1\.1 400/);
      expect(Buffer.byteLength(text)).toBe(Number(/content-length: (\d+)/i.exec(head)?.[1]));
      expect(JSON.parse(text).errors[0].code).toBe(code);
    }
  });
});
