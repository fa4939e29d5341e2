import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { SchemaMismatchError, schemaCheck } from '../../src/definitions/sql/schema-check';
import { loadRegistry } from '../../src/definitions/registry';
import { createLogger } from '../../src/observability/logger';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { admin, createTestDatabase } from '../support/database';

describe('foundation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('serves /health and /ready', async () => {
    await request(t.app).get('/health').expect(200, { status: 'ok' });
    await request(t.app).get('/ready').expect(200);
  });

  it('creates every catalog table with created_at/updated_at', async () => {
    for (const e of t.registry.all()) {
      const cols = await t.knex('information_schema.columns').where({ table_name: e.table }).pluck('column_name');
      expect(cols).toEqual(expect.arrayContaining(['created_at', 'updated_at']));
    }
    // The catalog, its 8 translation entities, language, currency, sales_channel, product_visibility, the webhooks'.
    expect(t.registry.all()).toHaveLength(25);
  });

  it('answers unknown routes with a JSON:API 404', async () => {
    const res = await request(t.app).get('/api/nope').expect(404);
    expect(res.body.errors[0].code).toBe('NOT_FOUND');
  });
});

describe('startup schema check', () => {
  /**
   * The catalog's definitions with tax.json changed by `edit`, checked against a fresh database: `check()` opens it
   * as startup does (migrating, then comparing).
   */
  async function withEditedTax(edit: (tax: { fields: Record<string, unknown> }) => void, fn: (ctx: { url: string; check: () => ReturnType<typeof openDatabase> }) => Promise<void>) {
    const db = await createTestDatabase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-schemas-'));
    try {
      for (const f of fs.readdirSync(path.join(ROOT, 'schemas'))) fs.copyFileSync(path.join(ROOT, 'schemas', f), path.join(dir, f));
      const tax = JSON.parse(fs.readFileSync(path.join(dir, 'tax.json'), 'utf8'));
      edit(tax);
      fs.writeFileSync(path.join(dir, 'tax.json'), JSON.stringify(tax));
      const config = loadConfig({ DATABASE_URL: db.url, MIGRATIONS_DIR: path.join(ROOT, 'migrations'), LOG_LEVEL: 'silent' });
      const registry = loadRegistry([dir]);
      await fn({ url: db.url, check: () => openDatabase(config, schemaCheck(registry), createLogger('silent')) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  }

  it('refuses a definition whose column is missing and names entity, field and column', async () => {
    await withEditedTax(
      (tax) => void (tax.fields.rounding = { kind: 'int' }),
      async ({ check }) => {
        await expect(check()).rejects.toThrow(SchemaMismatchError);
        await expect(check()).rejects.toThrow(/entity tax, field rounding: column "tax.rounding" does not exist/);
      },
    );
  });

  it('refuses a field kept in a table of its own when that table or its key column is missing', async () => {
    await withEditedTax(
      (tax) => void (tax.fields.words = { kind: 'tsvector', writeProtected: 'indexer:x', read: false, table: 'tax_words' }),
      async ({ url, check }) => {
        await expect(check()).rejects.toThrow(/entity tax, field words: table "tax_words" does not exist/);
        await admin((c) => c.query('CREATE TABLE tax_words (id uuid PRIMARY KEY, words tsvector NOT NULL)'), url);
        await expect(check()).rejects.toThrow(/entity tax, field words: table "tax_words" needs a uuid column "tax_id"/);
        await admin((c) => c.query('ALTER TABLE tax_words RENAME COLUMN id TO tax_id'), url);
        await (await check()).close();
      },
    );
  });

  it('refuses a column of an incompatible type', async () => {
    await withEditedTax(
      (tax) => void (tax.fields.name = { kind: 'int', required: true }),
      async ({ check }) => {
        await expect(check()).rejects.toThrow(/entity tax, field name: column "tax.name" has type varchar/);
      },
    );
  });
});
