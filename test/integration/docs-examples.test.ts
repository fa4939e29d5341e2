import path from 'node:path';
import request from 'supertest';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { readDocExamples } from '../support/doc-examples';
import { sync } from '../support/sync';
import { withPlaceholders } from '../support/doc-examples';

const guide = path.join(ROOT, 'docs/sync-api.md');
const examples = readDocExamples(guide);
const recipes = readDocExamples(path.join(ROOT, 'docs/recipes.md'));

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('docs/sync-api.md examples', () => {
  it('has examples for upsert, delete by key, delete by criteria and errors', () => {
    const actions = JSON.stringify(examples.map((e) => e.request));
    expect(actions).toContain('"upsert"');
    expect(actions).toContain('"delete"');
    expect(actions).toContain('"criteria"');
    expect(examples.some((e) => e.status >= 400)).toBe(true);
  });

  // Sequential on purpose: each example builds on the state the previous ones left.
  it.each(examples.map((e) => [`line ${e.line}`, e] as const))('%s answers as documented', async (_name, example) => {
    const res =
      example.ndjson === undefined
        ? await sync(t.app, example.request, example.headers)
        : await request(t.app).post('/api/_action/sync').set('content-type', 'application/x-ndjson').set(example.headers).send(example.ndjson);
    expect({ status: res.status, body: res.body }).toEqual({ status: example.status, body: withPlaceholders(example.response) });
  });
});

describe('docs/recipes.md examples', () => {
  let fresh: TestApp;
  beforeAll(async () => {
    fresh = await startTestApp();
  });
  afterAll(() => fresh.close());

  it('covers the three integrations', () => {
    expect(recipes.length).toBeGreaterThanOrEqual(9);
  });

  it.each(recipes.map((e) => [`line ${e.line}`, e] as const))('%s answers as documented', async (_name, example) => {
    const res = await sync(fresh.app, example.request, example.headers);
    expect({ status: res.status, body: res.body }).toEqual({ status: example.status, body: withPlaceholders(example.response) });
    if (example.headers['fail-on-error'] === 'false') {
      expect(res.headers['x-sync-errors']).toBe(String((example.response as { errors: unknown[] }).errors.length));
    }
  });
});

describe('docs/adding-entities.md examples', () => {
  const walkthrough = readDocExamples(path.join(ROOT, 'docs/adding-entities.md'));
  let pos: TestApp;
  beforeAll(async () => {
    pos = await startTestApp({
      SCHEMAS_DIR: `${path.join(ROOT, 'schemas')},${path.join(ROOT, 'examples/pos-inventory/schemas')}`,
      MIGRATIONS_DIR: `${path.join(ROOT, 'migrations')},${path.join(ROOT, 'examples/pos-inventory/migrations')}`,
    });
  });
  afterAll(() => pos.close());

  it('walks through a first sync, a snapshot, an error and a cascade', () => {
    expect(walkthrough.length).toBeGreaterThanOrEqual(4);
  });

  it.each(walkthrough.map((e) => [`line ${e.line}`, e] as const))('%s answers as documented', async (_name, example) => {
    const res = await sync(pos.app, example.request, example.headers);
    expect({ status: res.status, body: res.body }).toEqual({ status: example.status, body: withPlaceholders(example.response) });
  });
});
