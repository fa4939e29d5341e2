import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApp, type TestApp } from '../support/app';
import { listen, runCli } from '../support/cli';
import { createTax, storedRows, sync } from '../support/sync';
import { product } from '../fixtures/catalog';

/**
 * `bulksync import … --dry-run` shows what the import would change (the service's preview, added up over the
 * batches): a table of new / changed / unchanged / cleared records and the fields changed most often; `--diff`
 * writes every record's change with the line of the file it came from.
 */
let t: TestApp;
let server: { base: string; close(): Promise<void> };
let dir: string;
let taxId: string;
beforeAll(async () => {
  t = await startTestApp();
  server = await listen(t.bare);
  taxId = await createTax(t.app, 'CLI preview tax');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-cli-preview-'));
});
afterAll(async () => {
  await server?.close();
  await t?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('bulksync import --dry-run', () => {
  it('prints the summary table and writes the per-record changes with --diff; nothing is written', async () => {
    const stored = [1, 2, 3, 4].map((n) => product(taxId, n, { productNumber: `CP-${n}`, name: `Name ${n}`, stock: 5 }));
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: stored } }).expect(200);
    const fresh = product(taxId, 9, { productNumber: 'CP-9', name: 'New' });
    const lines = [
      { ...stored[0], stock: 6 },
      { ...stored[1], stock: 7, name: 'Renamed' },
      stored[2],
      fresh,
    ];
    const file = path.join(dir, 'feed.ndjson');
    fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const diff = path.join(dir, 'changes.ndjson');
    // Two batches: the counts and the file's lines are added up over both.
    const run = await runCli(['import', file, '--entity', 'product', '--dry-run', '--batch', '2', '--diff', diff], server.base);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/entity\s+new\s+changed\s+unchanged\s+cleared\n\s*product\s+1\s+2\s+1\s+0\n/);
    expect(run.stderr).toContain('fields changed most often: stock 2, name 1');
    expect(run.stderr).toContain('dry run: checked, nothing written 4');
    const changes = fs.readFileSync(diff, 'utf8').trim().split('\n').map((l) => JSON.parse(l)).sort((a, b) => a.line - b.line);
    expect(changes).toEqual([
      { line: 1, pointer: '/import/0', entity: 'product', key: stored[0]!.id, change: 'update', fields: { stock: { from: 5, to: 6 } } },
      { line: 2, pointer: '/import/1', entity: 'product', key: stored[1]!.id, change: 'update', fields: { name: { from: 'Name 2', to: 'Renamed' }, stock: { from: 5, to: 7 } } },
      { line: 3, pointer: '/import/0', entity: 'product', key: stored[2]!.id, change: 'unchanged', fields: {} },
      { line: 4, pointer: '/import/1', entity: 'product', key: fresh.id, change: 'create', fields: expect.objectContaining({ name: { from: null, to: 'New' } }) },
    ]);
    expect(await storedRows(t, 'product').where('product_number', 'like', 'CP-%').orderBy('product_number').pluck('stock')).toEqual([5, 5, 5, 5]);
  });

  it('refuses --diff without --dry-run', async () => {
    const run = await runCli(['import', path.join(dir, 'feed.ndjson'), '--entity', 'product', '--diff', path.join(dir, 'x.ndjson')], server.base);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--diff needs --dry-run');
  });
});
