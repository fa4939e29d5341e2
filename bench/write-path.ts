import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../src/config';
import { openDatabase } from '../src/db/database';
import { schemaCheck } from '../src/definitions/sql/schema-check';
import { withTransaction, type Sql } from '../src/db/sql';
import { toDbId } from '../src/definitions/ids';
import { loadRegistry } from '../src/definitions/registry';
import { createLogger } from '../src/observability/logger';
import { insertRows, updateRows, type WriteRow } from '../src/write/upsert';
import { median } from './report';
import { changed, hexId, makeProducts, PRODUCT_COLUMNS, productCells, type Product } from './rows';
import { ROOT } from './db';

/**
 * `npx tsx bench/write-path.ts [records] [rounds]`: the write statements alone (src/write/upsert.ts's insertRows and
 * updateRows) on product rows as the sync hands them over, next to raw COPY of the same rows, on a fresh database of
 * DATABASE_URL's server. No HTTP, no parsing, no lookups: what the statements themselves cost.
 */

const records = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 3);

function writeRow(p: Product): WriteRow {
  const id = toDbId(p.id);
  return {
    key: { id },
    values: new Map<string, unknown>([
      ['id', id],
      ['productNumber', p.productNumber],
      ['name', p.name],
      ['description', p.description],
      ['stock', p.stock],
      ['price', JSON.stringify(p.price)],
      ['taxId', toDbId(p.taxId)],
      ['active', p.active],
      ['ean', p.ean],
      ['weight', p.weight],
    ]),
  };
}

/** A merge that sends different fields per row: every other row leaves out description and weight. */
function partialRow(p: Product, i: number): WriteRow {
  const r = writeRow(p);
  if (i % 2) {
    const values = new Map(r.values);
    values.delete('description');
    values.delete('weight');
    return { key: r.key, values };
  }
  return r;
}

function copyText(v: unknown): string {
  if (v === null) return '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (typeof v === 'number') return String(v);
  return String(v).replace(/[\\\n\r\t]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\n' ? '\\n' : ch === '\r' ? '\\r' : '\\t'));
}

async function rawCopy(client: pg.Client, products: readonly Product[]): Promise<void> {
  const cols = PRODUCT_COLUMNS.map(([c]) => `"${c}"`).join(', ');
  await client.query('BEGIN');
  await client.query(`CREATE TEMP TABLE stage (${PRODUCT_COLUMNS.map(([c, t]) => `"${c}" ${t}`).join(', ')}) ON COMMIT DROP`);
  function* lines() {
    for (let i = 0; i < products.length; i += 1000) {
      let out = '';
      for (const p of products.slice(i, i + 1000)) out += productCells(p).map(copyText).join('\t') + '\n';
      yield out;
    }
  }
  await pipeline(Readable.from(lines()), client.query(copyFrom(`COPY stage (${cols}) FROM STDIN`)));
  const sets = PRODUCT_COLUMNS.filter(([c]) => c !== 'id').map(([c]) => `"${c}" = EXCLUDED."${c}"`).join(', ');
  await client.query(`INSERT INTO product (${cols}, created_at) SELECT ${cols}, now() FROM stage ON CONFLICT (id) DO UPDATE SET ${sets}, updated_at = now()`);
  await client.query('COMMIT');
}

async function main(): Promise<void> {
  const admin = process.env.DATABASE_URL;
  if (!admin) throw new Error('set DATABASE_URL');
  const name = `bulksync_writepath_${randomBytes(4).toString('hex')}`;
  const adminClient = new pg.Client({ connectionString: admin });
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE ${name}`);
  const u = new URL(admin);
  u.pathname = '/' + name;
  const url = u.toString();
  const config = loadConfig({ SCHEMAS_DIR: path.join(ROOT, 'schemas'), MIGRATIONS_DIR: path.join(ROOT, 'migrations'), LOG_LEVEL: 'silent', DATABASE_URL: url });
  const registry = loadRegistry(config.SCHEMAS_DIR);
  const db = await openDatabase(config, schemaCheck(registry), createLogger('silent'));
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const entity = registry.get('product');
    const clientPid = Number((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    const taxId = hexId();
    await client.query(`INSERT INTO tax (id, name, tax_rate) VALUES ($1, 'Standard rate', 19)`, [taxId]);
    const products = makeProducts(taxId, records);
    const updated = products.map((p) => changed(p, 1));
    const inserts = products.map(writeRow);
    const updates = updated.map(writeRow);
    const merges = products.map(partialRow);
    const reset = async () => {
      await client.query('TRUNCATE product CASCADE');
      await client.query('VACUUM ANALYZE product');
      await client.query('CHECKPOINT');
    };
    // Each write is checked: every row is there with the values just written.
    const expectRows = async (where: string) => {
      const n = Number((await client.query(`SELECT count(*) AS n FROM product WHERE ${where}`)).rows[0].n);
      if (n !== records) throw new Error(`expected ${records} rows WHERE ${where}, found ${n}`);
    };
    const results = new Map<string, { wall: number[]; node: number[]; pg: number[] }>();
    // The machine is shared: besides wall time, the CPU time of this process and of the PostgreSQL backend that ran
    // the statements (from /proc) say what the work itself cost, whatever else runs beside it.
    const time = async (label: string, fn: () => Promise<unknown>) => {
      await client.query('CHECKPOINT');
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      const wall = performance.now() - t0;
      const c1 = process.cpuUsage(c0);
      const r = results.get(label) ?? results.set(label, { wall: [], node: [], pg: [] }).get(label)!;
      r.wall.push(wall);
      r.node.push((c1.user + c1.system) / 1000);
      r.pg.push(pgCpu);
      process.stderr.write(`  ${label}: ${wall.toFixed(0)} ms wall, ${((c1.user + c1.system) / 1000).toFixed(0)} ms node CPU, ${pgCpu.toFixed(0)} ms PostgreSQL CPU\n`);
    };
    let pgCpu = 0;
    const cpuOf = (pid: number): number => {
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime in clock ticks (100/s)
    };
    const measured = async <T>(pid: number, fn: () => Promise<T>): Promise<T> => {
      const before = cpuOf(pid);
      const out = await fn();
      pgCpu = cpuOf(pid) - before;
      return out;
    };
    const tx = <T>(fn: (sql: Sql) => Promise<T>) =>
      withTransaction(db.knex, async (sql) => {
        const pid = Number((await sql.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
        return measured(pid, () => fn(sql));
      }, { retries: 0 });
    for (let round = 0; round < rounds; round++) {
      process.stderr.write(`round ${round + 1}/${rounds}\n`);
      await reset();
      await time('raw COPY insert', () => measured(clientPid, () => rawCopy(client, products)));
      await time('raw COPY update', () => measured(clientPid, () => rawCopy(client, updated)));
      await reset();
      // The rows are built before the clock starts (the sync has them from its plan): what is timed is write/ alone.
      await time('insertRows (nothing)', () => tx((sql) => insertRows(sql, entity, inserts, 'nothing')));
      await expectRows(`name LIKE 'Product %' AND name NOT LIKE '%(rev%'`);
      await time('updateRows uniform', () => tx((sql) => updateRows(sql, entity, updates)));
      await expectRows(`name LIKE '%(rev 1)'`);
      await time('updateRows masked', () => tx((sql) => updateRows(sql, entity, merges)));
      await reset();
      await time('insertRows (update)', () => tx((sql) => insertRows(sql, entity, inserts, 'update')));
    }
    process.stdout.write(`\n${records} product rows, median of ${rounds}:\n\n| statement | wall ms | rows/s | node CPU ms | PostgreSQL CPU ms | CPU µs/row |\n| --- | --- | --- | --- | --- | --- |\n`);
    for (const [label, r] of results) {
      const cpu = median(r.node) + median(r.pg);
      process.stdout.write(
        `| ${label} | ${median(r.wall).toFixed(0)} | ${Math.round((records / median(r.wall)) * 1000).toLocaleString('en-US')} | ${median(r.node).toFixed(0)} | ${median(r.pg).toFixed(0)} | ${((cpu * 1000) / records).toFixed(1)} |\n`,
      );
    }
  } finally {
    await client.end();
    await db.close();
    await adminClient.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await adminClient.end();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`write-path bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
