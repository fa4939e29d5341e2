import path from 'node:path';
import request from 'supertest';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { fill, readDocExamples, withPlaceholders } from '../support/doc-examples';
import { storedRows } from '../support/sync';

/**
 * docs/safe-resyncs.md is the fixture: its request blocks are sent in order to a fresh database and must be answered
 * as documented. An answer asked for as NDJSON (accept=application/x-ndjson) is documented as the list of its lines.
 */
const examples = readDocExamples(path.join(ROOT, 'docs/safe-resyncs.md'));

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

function lines(text: string): unknown[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

describe('docs/safe-resyncs.md examples', () => {
  it('has a preview as JSON and as NDJSON, a version conflict and a refused clear', () => {
    const headers = JSON.stringify(examples.map((e) => e.headers));
    expect(headers).toContain('"prefer":"return=representation"');
    expect(headers).toContain('"accept":"application/x-ndjson"');
    const answers = JSON.stringify(examples.map((e) => e.response));
    expect(answers).toContain('VERSION_CONFLICT');
    expect(answers).toContain('CLEAR_GUARD');
  });

  // Sequential on purpose: each example builds on the state the previous ones left.
  it.each(examples.map((e) => [`line ${e.line}`, e] as const))('%s answers as documented', async (_name, example) => {
    const ndjson = example.headers.accept === 'application/x-ndjson';
    const send = request(t.app).post('/api/_action/sync').set('content-type', 'application/json').set(example.headers);
    const res = ndjson ? await send.buffer(true).parse((r, done) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => done(null, text));
    }).send(example.request as object) : await send.send(example.request as object);
    const body = ndjson ? lines(res.body as string) : res.body;
    expect({ status: res.status, body }).toEqual({ status: example.status, body: fill(withPlaceholders(example.response), body) });
    if (example.headers['dry-run'] === 'true') expect(res.headers['preference-applied']).toBe('return=representation');
  });

  it('wrote nothing in the previews: the scarf still has 5, there is no tie', async () => {
    expect(await storedRows(t, 'product').orderBy('product_number').pluck('stock')).toEqual([5, 5, 5]);
  });
});
