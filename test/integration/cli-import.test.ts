import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import type { NextFunction, Request, Response } from 'express';
import { listen, runCli, spawnCli } from '../support/cli';

let t: TestApp;
let server: { base: string; close(): Promise<void> };
let dir: string;
beforeAll(async () => {
  t = await startTestApp();
  server = await listen(t.bare);
  const tax = await request(t.app).post('/api/_action/sync').send({ t: { entity: 'tax', action: 'upsert', payload: [{ id: TAX, name: 'Standard rate', taxRate: 19 }] } });
  expect(tax.status).toBe(200);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-cli-'));
});
afterAll(async () => {
  await server?.close();
  await t?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const TAX = '0189bf2a627a7296adbc83527ba9ac29';
const CAT1 = '0189bf2a627a7296adbc83527ba9c001';
const CAT2 = '0189bf2a627a7296adbc83527ba9c002';
const PRICE = '"[{""currencyId"":""b7d2554b0ce847cd82f3ac9bd1c0dfca"",""gross"":10,""net"":8.4,""linked"":true}]"';

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('bulksync import of a CSV', () => {
  it('writes nested columns (tax.*), lists (categories split on |), converted by field kind', async () => {
    const sync = await request(t.app)
      .post('/api/_action/sync')
      .send({ c: { entity: 'category', action: 'upsert', payload: [{ id: CAT1, name: 'Clothing' }, { id: CAT2, name: 'Shirts', parentId: CAT1 }] } });
    expect(sync.status).toBe(200);
    const csv = write(
      'nested.csv',
      [
        'productNumber,name,stock,price,tax.id,tax.name,tax.taxRate,categories,active,description',
        `N-1,Linen shirt,10,${PRICE},${TAX},Standard rate,19,${CAT1}|${CAT2},yes,"two`,
        `lines"`,
        `N-2,Cotton shirt,3,${PRICE},${TAX},Standard rate,19,${CAT2},false,`,
      ].join('\n') + '\n',
    );
    const run = await runCli(['import', csv, '--entity', 'product'], server.base);
    expect(run.stderr).toContain('written 2');
    expect(run.code).toBe(0);
    const found = await request(t.app)
      .post('/api/search/product')
      .send({ filter: [{ type: 'prefix', field: 'productNumber', value: 'N-' }], associations: ['tax', 'categories'], sort: [{ field: 'productNumber' }] });
    expect(found.status).toBe(200);
    const [a, b] = found.body.data;
    expect(a).toMatchObject({ productNumber: 'N-1', stock: 10, active: true, description: 'two\nlines', tax: { id: TAX, name: 'Standard rate', taxRate: 19 } });
    expect(a.categories.map((c: { id: string }) => c.id).sort()).toEqual([CAT1, CAT2]);
    expect(b).toMatchObject({ productNumber: 'N-2', stock: 3, active: false, description: null });
    expect(b.categories.map((c: { id: string }) => c.id)).toEqual([CAT2]);
  });
});

/** `count` product rows N-<from>… with a nested tax, as CSV text. */
function productRows(prefix: string, count: number): string {
  const lines = ['productNumber,name,stock,price,tax.id,tax.name,tax.taxRate'];
  for (let i = 0; i < count; i++) lines.push(`${prefix}-${i},Product ${i},${i % 50},${PRICE},${TAX},Standard rate,19`);
  return lines.join('\n') + '\n';
}

async function countPrefix(prefix: string): Promise<{ total: number; numbers: string[] }> {
  const numbers: string[] = [];
  let after: string | undefined;
  do {
    const res = await request(t.app)
      .post('/api/search/product')
      .send({ filter: [{ type: 'prefix', field: 'productNumber', value: `${prefix}-` }], fields: ['productNumber'], limit: 500, ...(after ? { after } : {}) });
    expect(res.status).toBe(200);
    numbers.push(...res.body.data.map((r: { productNumber: string }) => r.productNumber));
    after = res.body.next;
  } while (after);
  return { total: numbers.length, numbers };
}

describe('docs/import.md', () => {
  it('imports the sample files of examples/import/ as the guide shows, and a second run (--match-by) creates nothing new', async () => {
    const guide = fs.readFileSync(path.join(ROOT, 'docs/import.md'), 'utf8');
    // Steps 2 and 3 (one line each; step 4's command goes on over two lines and is run by docs-import-guide.test.ts).
    const commands = [...guide.matchAll(/^npx bulksync (import examples\/import\/[^\n\\]+)$/gm)].map((m) => m[1]!.split(' '));
    expect(commands).toHaveLength(2);
    for (const args of commands) {
      const run = await runCli(args, server.base);
      expect({ args, code: run.code, stderr: run.stderr }).toMatchObject({ code: 0, stderr: expect.stringContaining('written 3, skipped 0, failed 0') });
    }
    const again = await runCli(commands[1]!, server.base);
    expect(again.code).toBe(0);
    const products = await request(t.app)
      .post('/api/search/product')
      .send({ filter: [{ type: 'prefix', field: 'productNumber', value: 'SW-2000' }], associations: ['categories', 'tax'], sort: [{ field: 'productNumber' }] });
    expect(products.body.data.map((p: { productNumber: string; name: string; active: boolean; tax: { taxRate: number } }) => [p.productNumber, p.name, p.active, p.tax.taxRate])).toEqual([
      ['SW-20001', 'Linen shirt', true, 19],
      ['SW-20002', 'Linen trousers', false, 19],
      ['SW-20003', 'Cotton shirt, short sleeves', true, 19],
    ]);
    expect(products.body.data[2].categories.map((c: { name: string }) => c.name).sort()).toEqual(['Clothing', 'Shirts']);
  });
});

describe('bulksync import: failed records', () => {
  it('writes every failed record to --errors with its input line, column and code, and imports the rest under --fail-on-error false', async () => {
    const csv = write(
      'errors.csv',
      [
        'productNumber,name,stock,price,tax.id,tax.name,tax.taxRate', // line 1
        `E-1,"A name on`, // line 2
        `two lines",1,${PRICE},${TAX},Standard rate,19`, // line 3
        `E-2,Bad stock,many,${PRICE},${TAX},Standard rate,19`, // line 4: not an integer (found by the CLI)
        `E-3,Too few cells,1`, // line 5: malformed CSV row
        `E-4,Negative stock,-5,${PRICE},${TAX},Standard rate,19`, // line 6: refused by the service (minimum 0)
        `E-5,Fine,5,${PRICE},${TAX},Standard rate,19`, // line 7
      ].join('\n') + '\n',
    );
    const errors = path.join(dir, 'errors-out.csv');
    const run = await runCli(['import', csv, '--entity', 'product', '--fail-on-error', 'false', '--errors', errors, '--batch', '2'], server.base);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('written 2');
    expect(run.stderr).toContain('failed 3');
    const rows = fs.readFileSync(errors, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('line,column,field,code,message');
    const byLine = rows.slice(1).map((r) => r.split(','));
    expect(byLine.map((r) => r[0])).toEqual(['4', '5', '6']);
    expect(byLine[0]!.slice(1, 4)).toEqual(['stock', 'stock', 'VALUE_INVALID']);
    expect(byLine[1]![3]).toBe('CSV_INVALID');
    expect(byLine[2]!.slice(1, 4)).toEqual(['stock', 'stock', 'VALUE_INVALID']);
    expect((await countPrefix('E')).numbers.sort()).toEqual(['E-1', 'E-5']);
  });

  it('stops at the first failed batch by default (all or nothing per batch) and exits 1', async () => {
    const csv = write('stop.csv', ['productNumber,name,stock,price,tax.id,tax.name,tax.taxRate', `S-1,Ok,1,${PRICE},${TAX},Standard rate,19`, `S-2,Bad,-1,${PRICE},${TAX},Standard rate,19`].join('\n') + '\n');
    const run = await runCli(['import', csv, '--entity', 'product'], server.base);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('rolled back with a failed record 1');
    expect((await countPrefix('S')).total).toBe(0);
  });
});

describe('bulksync import of NDJSON and JSON files', () => {
  const price = [{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: 10, net: 8.4, linked: true }];
  const product = (n: string, stock: number) => ({ productNumber: n, name: n, stock, price, taxId: TAX });

  it('reads NDJSON line by line: a line that is not JSON and a refused record are reported at their lines', async () => {
    const file = write(
      'in.ndjson',
      [JSON.stringify(product('J-1', 1)), '', '{"productNumber": "J-2", oops', JSON.stringify(product('J-3', -3)), JSON.stringify(product('J-4', 4))].join('\n') + '\n',
    );
    const errors = path.join(dir, 'ndjson-errors.csv');
    const run = await runCli(['import', file, '--entity', 'product', '--fail-on-error', 'false', '--errors', errors, '--indexing', 'disabled'], server.base);
    expect(run.code).toBe(1);
    // disable-indexing per batch, then one full re-index, as Shopware's sync command does.
    expect(run.stderr).toMatch(/full re-index queued \(.*product\.search.*\)/);
    const rows = fs.readFileSync(errors, 'utf8').trim().split('\n').slice(1).map((r) => r.split(','));
    expect(rows.map((r) => [r[0], r[2], r[3]])).toEqual([
      ['3', '', 'BODY_NOT_JSON'],
      ['4', 'stock', 'VALUE_INVALID'],
    ]);
    expect((await countPrefix('J')).numbers.sort()).toEqual(['J-1', 'J-4']);
  });

  it('streams a JSON array, each record reported at the line it starts on', async () => {
    const text = JSON.stringify([product('K-1', 1), product('K-2', -2), product('K-3', 3)], null, 2);
    const file = write('in.json', text);
    const line = text.split('\n').findIndex((l) => l.includes('"K-2"')); // 0-based line of its productNumber = 1-based line of its "{"
    const errors = path.join(dir, 'json-errors.csv');
    const run = await runCli(['import', file, '--entity', 'product', '--fail-on-error', 'false', '--errors', errors], server.base);
    expect(run.code).toBe(1);
    const rows = fs.readFileSync(errors, 'utf8').trim().split('\n').slice(1).map((r) => r.split(','));
    expect(rows.map((r) => [r[0], r[2], r[3]])).toEqual([[String(line), 'stock', 'VALUE_INVALID']]);
    expect((await countPrefix('K')).numbers.sort()).toEqual(['K-1', 'K-3']);
  });
});

describe('bulksync import: robustness', () => {
  it('resumes after the process is killed mid-import: every row present once, finished batches not sent again', async () => {
    const rows = 3000;
    const csv = write('resume.csv', productRows('R', rows));
    const checkpoint = `${csv}.bulksync-checkpoint.json`;
    let written = 0;
    // Slow each sync a little so that the kill lands mid-import on any machine; count the batches that were written.
    const slow = (req: Request, res: Response, next: NextFunction) => {
      if (req.path !== '/api/_action/sync') return next();
      res.on('finish', () => {
        if (res.statusCode === 200) written++;
      });
      setTimeout(next, 60);
    };
    const front = await listen(t.bare, slow);
    try {
      const first = spawnCli(['import', csv, '--entity', 'product', '--batch', '100', '--concurrency', '2', '--match-by', 'productNumber'], front.base);
      first.child.stdin!.end();
      // Kill once a few batches are checkpointed.
      for (let i = 0; i < 600; i++) {
        const state = fs.existsSync(checkpoint) ? JSON.parse(fs.readFileSync(checkpoint, 'utf8')) : undefined;
        if (state && state.doneBelow >= 5) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      first.child.kill('SIGKILL');
      expect(await first.exited).toBeNull();
      const done = JSON.parse(fs.readFileSync(checkpoint, 'utf8'));
      expect(done.doneBelow).toBeGreaterThanOrEqual(5);
      expect(done.doneBelow).toBeLessThan(rows / 100);
      const before = (await countPrefix('R')).total;
      expect(before).toBeLessThan(rows);
      written = 0;
      const second = await runCli(['import', csv, '--entity', 'product', '--batch', '100', '--concurrency', '2', '--match-by', 'productNumber', '--resume'], front.base);
      expect(second.stderr).toContain('resuming:');
      expect(second.code).toBe(0);
      // Only the batches the checkpoint did not hold were sent (a batch in flight at the kill may be sent twice).
      expect(written).toBeLessThanOrEqual(rows / 100 - done.doneBelow - done.done.length);
      const after = await countPrefix('R');
      expect(after.total).toBe(rows);
      expect(new Set(after.numbers).size).toBe(rows);
      expect(fs.existsSync(checkpoint)).toBe(false);
    } finally {
      await front.close();
    }
  });

  it('on SIGINT finishes the batches in flight, keeps the checkpoint and exits 130; --resume completes the import', async () => {
    const csv = write('interrupt.csv', productRows('I', 1500));
    const checkpoint = `${csv}.bulksync-checkpoint.json`;
    const slow = (req: Request, _res: Response, next: NextFunction) => (req.path === '/api/_action/sync' ? setTimeout(next, 60) : next());
    const front = await listen(t.bare, slow);
    try {
      const args = ['import', csv, '--entity', 'product', '--batch', '100', '--match-by', 'productNumber'];
      const first = spawnCli(args, front.base);
      first.child.stdin!.end();
      for (let i = 0; i < 600; i++) {
        if (fs.existsSync(checkpoint) && JSON.parse(fs.readFileSync(checkpoint, 'utf8')).doneBelow >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      first.child.kill('SIGINT');
      expect(await first.exited).toBe(130);
      expect(first.stderr()).toContain('interrupted: finishing the requests in flight');
      expect(first.stderr()).toContain('continue with the same command and --resume');
      const state = JSON.parse(fs.readFileSync(checkpoint, 'utf8'));
      // Every batch that was sent finished and is recorded: what is in the database is exactly what the checkpoint says.
      expect((await countPrefix('I')).total).toBe((state.doneBelow + state.done.length) * 100);
      // Other batches would get other keys: a resume with another batch size is refused, the checkpoint kept.
      const other = await runCli([...args, '--batch', '50', '--resume'], front.base);
      expect(other.code).toBe(2);
      expect(other.stderr).toContain('belongs to another run');
      const second = await runCli([...args, '--resume'], front.base);
      expect(second.code).toBe(0);
      expect((await countPrefix('I')).total).toBe(1500);
    } finally {
      await front.close();
    }
  });

  it('survives a storm of 429 and 503 answers, honouring Retry-After', async () => {
    const csv = write('storm.csv', productRows('T', 400));
    let syncs = 0;
    let refused = 0;
    // The first six sync requests are refused, then every third one: a limiter and a busy database.
    const storm = (req: Request, res: Response, next: NextFunction) => {
      if (req.path !== '/api/_action/sync') return next();
      syncs++;
      if (syncs <= 6 || syncs % 3 === 0) {
        refused++;
        res.setHeader('Retry-After', '1');
        const status = syncs % 2 ? 429 : 503;
        res.status(status).json({ errors: [{ status: String(status), code: status === 429 ? 'RATE_LIMITED' : 'CONFLICT_RETRY_EXHAUSTED', detail: 'try again' }] });
        return;
      }
      next();
    };
    const front = await listen(t.bare, storm);
    try {
      const run = await runCli(['import', csv, '--entity', 'product', '--batch', '50', '--concurrency', '2', '--progress-interval', '500'], front.base);
      expect(run.stderr).toContain('retrying /api/_action/sync in 1.0 s (HTTP 429 RATE_LIMITED');
      // Without a terminal: plain progress lines.
      expect(run.stderr).toMatch(/\d+ records written, 0 failed \(\d+% of the file read\), \d+ records\/s/);
      expect(run.stderr).toContain('HTTP 503 CONFLICT_RETRY_EXHAUSTED');
      expect(run.code).toBe(0);
      expect(refused).toBeGreaterThanOrEqual(8);
      expect((await countPrefix('T')).total).toBe(400);
    } finally {
      await front.close();
    }
  });
});

describe('bulksync import: wording', () => {
  it('counts one record as one, and prints the last progress line once, with --fail-on-error false too', async () => {
    const one = await runCli(['import', write('one.csv', productRows('W1', 1)), '--entity', 'product'], server.base);
    expect(one.code).toBe(0);
    expect(one.stderr).toContain('1 record written, 0 failed');
    // A rate is a rate ("1 records/s" when the import took a second): only a count must say "record".
    expect(one.stderr).not.toMatch(/\b1 records\b(?!\/s)/);
    const csv = write('partial.csv', productRows('W2', 3).replace('W2-1,Product 1,1,', 'W2-1,Product 1,-1,'));
    const partial = await runCli(['import', csv, '--entity', 'product', '--fail-on-error', 'false', '--batch', '2'], server.base);
    expect(partial.code).toBe(1);
    const lines = partial.stderr.split('\n').filter((l) => / failed( \(|,)/.test(l) && /records?\/s$/.test(l));
    const counts = lines.map((l) => l.replace(/, \d+ records\/s$/, ''));
    expect(counts.length).toBeGreaterThan(0);
    expect(new Set(counts).size).toBe(counts.length);
  });

  it("names the column of a link field's failed id (categories.id → the categories column) in the errors file", async () => {
    const unknown = '0189bf2a627a7296adbc83527ba9cfff';
    const csv = write('links.csv', ['productNumber,name,stock,price,taxId,categories', `L-1,Linked,1,${PRICE},${TAX},${unknown}`].join('\n') + '\n');
    const errors = path.join(dir, 'links-errors.csv');
    const run = await runCli(['import', csv, '--entity', 'product', '--fail-on-error', 'false', '--errors', errors], server.base);
    expect(run.code).toBe(1);
    const [, row] = fs.readFileSync(errors, 'utf8').trim().split('\n');
    expect(row!.split(',').slice(0, 4)).toEqual(['2', 'categories', 'categories.id', 'FK_NOT_FOUND']);
  });
});

describe('bulksync import: bad input', () => {
  it('refuses an unknown entity, an unknown column and a missing file with exit 2, writing nothing; a dry run writes nothing either', async () => {
    const csv = write('unknown.csv', 'productNumber,colour\nU-1,red\n');
    const entity = await runCli(['import', csv, '--entity', 'produkt'], server.base);
    expect(entity.code).toBe(2);
    expect(entity.stderr).toContain('unknown entity "produkt"');
    const column = await runCli(['import', csv, '--entity', 'product'], server.base);
    expect(column.code).toBe(2);
    expect(column.stderr).toContain('colour: product has no field "colour"');
    // The reason alone: no progress or counts of nothing before it.
    expect(column.stderr.trim().split('\n')[0]).toMatch(/^bulksync import: /);
    const dry = await runCli(['import', write('dry.csv', productRows('U', 2)), '--entity', 'product', '--dry-run'], server.base);
    // The service documents dry-run: the batches are sent with it, checked completely and rolled back.
    expect(dry.code).toBe(0);
    expect(dry.stderr).toContain('2 records checked');
    expect(dry.stderr).toContain('dry run: checked, nothing written 2');
    expect(dry.stderr.replace('nothing written', '')).not.toMatch(/written/);
    const missing = await runCli(['import', path.join(dir, 'nope.csv'), '--entity', 'product'], server.base);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no such file');
    expect((await countPrefix('U')).total).toBe(0);
  });

  it('says so clearly when the secret is wrong or the service is down (exit 2)', async () => {
    const csv = write('auth.csv', productRows('A', 1));
    const wrong = await runCli(['import', csv, '--entity', 'product'], server.base, { BULKSYNC_CLIENT_SECRET: 'not-the-secret' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('refused the credentials of client "test-admin"');
    const closed = await listen(t.bare);
    const url = closed.base;
    await closed.close();
    const down = await runCli(['import', csv, '--entity', 'product', '--retries', '2'], url);
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`cannot reach ${url}: connection refused`);
    expect(down.stderr).toContain('retrying /api/oauth/token');
  });

  it('--help on every command exits 0', async () => {
    const commands = ['import', 'export', 'serve', 'worker', 'migrate', 'integration', 'definition-schema'];
    const runs = await Promise.all(commands.map((command) => runCli([command, '--help'], server.base)));
    runs.forEach((run, i) => {
      expect({ command: commands[i], code: run.code }).toEqual({ command: commands[i], code: 0 });
      expect(run.stdout).toContain(`bulksync ${commands[i]}`);
    });
  });
});
