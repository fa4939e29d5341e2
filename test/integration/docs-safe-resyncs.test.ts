import path from 'node:path';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { fill, readDocExamples, withPlaceholders } from '../support/doc-examples';
import { sync } from '../support/sync';

const guide = path.join(ROOT, 'docs/safe-resyncs.md');
const examples = readDocExamples(guide);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('docs/safe-resyncs.md examples', () => {
  it('shows a version conflict and a refused clear', () => {
    const codes = JSON.stringify(examples.map((e) => e.response));
    expect(codes).toContain('VERSION_CONFLICT');
    expect(codes).toContain('CLEAR_GUARD');
  });

  // Sequential on purpose: each example builds on the state the previous ones left.
  it.each(examples.map((e) => [`line ${e.line}`, e] as const))('%s answers as documented', async (_name, example) => {
    const res = await sync(t.app, example.request, example.headers);
    expect({ status: res.status, body: res.body }).toEqual({ status: example.status, body: fill(withPlaceholders(example.response), res.body) });
  });
});
