import { randomUUID } from 'node:crypto';
import { withConnection, withTransaction, type Sql } from '../../src/db/sql';
import { registryFromTexts } from '../../src/definitions/registry';
import type { EntityDef } from '../../src/definitions/types';
import { classifyDbError } from '../../src/write/db-errors';
import { COPY_MIN_ROWS, stagePreparation } from '../../src/write/row-source';
import { insertRows, updateRows, type WriteRow } from '../../src/write/upsert';
import { startTestApp, type TestApp } from '../support/app';

/**
 * The write statements themselves (src/write/upsert.ts), on the real PostgreSQL. Rows reach PostgreSQL in one of two
 * ways (src/write/row-source.ts): a few as array parameters, many by COPY into a staging table. Every test runs both
 * ways (padded with plain rows up to COPY_MIN_ROWS for the second): each kind of value must come out of the table
 * exactly as it went in, whatever characters it holds, with the same semantics.
 */

const probe: EntityDef = registryFromTexts([
  {
    file: 'schemas/write_probe.json',
    text: JSON.stringify({
      entity: 'write_probe',
      fields: {
        id: { kind: 'id' },
        label: { kind: 'string', maxLength: 255, unique: true },
        body: { kind: 'text' },
        amount: { kind: 'float' },
        quantity: { kind: 'int', default: 7 },
        flag: { kind: 'bool', default: true },
        doc: { kind: 'json' },
        tags: { kind: 'idList' },
        seenAt: { kind: 'datetime' },
        note: { kind: 'string', maxLength: 255, default: 'none' },
      },
    }),
  },
]).get('write_probe');

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await t.knex.raw(`
    CREATE TABLE write_probe (
      id uuid PRIMARY KEY, label varchar(255) UNIQUE, body text, amount double precision, quantity integer,
      flag boolean, doc jsonb, tags uuid[], seen_at timestamptz, note varchar(255),
      created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz
    )`);
});
afterAll(() => t.close());
beforeEach(() => t.knex.raw('TRUNCATE write_probe'));

const id = () => randomUUID();
const row = (values: Record<string, unknown>): WriteRow => ({ key: { id: values.id as string }, values: new Map(Object.entries(values)) });
const tx = <T>(fn: (sql: Sql) => Promise<T>) => withTransaction(t.knex, fn, { retries: 0 });
/** Plain rows of their own keys and labels, that make a write large enough to go by COPY. */
const filler = (n: number, tag = 'filler') => Array.from({ length: n }, (_, i) => row({ id: id(), label: `${tag} ${i} ${id()}` }));
const WAYS = [
  ['a few rows (array parameters)', 0],
  ['many rows (COPY)', COPY_MIN_ROWS],
] as const;

interface ProbeRow {
  id: string;
  label: string | null;
  body: string | null;
  amount: number | null;
  quantity: number | null;
  flag: boolean | null;
  doc: unknown;
  tags: string[] | null;
  seen_at: Date | null;
  note: string | null;
  created_at: Date | null;
  updated_at: Date | null;
}

async function read(key: string): Promise<ProbeRow> {
  const r = await t.knex<ProbeRow>('write_probe').where({ id: key }).first();
  if (!r) throw new Error(`no row ${key}`);
  return r;
}

/** Strings that mean something to COPY's text format, to array literals or to JSON. */
const AWKWARD = ['tab\there', 'line\nbreak\r\nand CR\r', 'back\\slash and \\N and \\t', '\\.', '', '\\', 'say "hi" {a,b} NULL', 'ünïcødé 🎉 \u2028'];

describe.each(WAYS)('insertRows, %s', (_way, pad) => {
  it('writes every kind of value exactly as given, whatever characters strings hold', async () => {
    const keys = AWKWARD.map(() => id());
    const tag = id();
    const rows = AWKWARD.map((s, i) =>
      row({
        id: keys[i],
        label: `label ${i} ${s}`,
        body: s,
        amount: i === 0 ? -0.000123 : 1e21 + i,
        quantity: -2147483648 + i,
        flag: i % 2 === 0,
        doc: JSON.stringify({ s, nested: [s, null, { n: i }] }),
        tags: `{${tag},${keys[i]}}`,
        seenAt: '2026-11-30T23:59:59.123+02:00',
        note: s,
      }),
    );
    expect(await tx((sql) => insertRows(sql, probe, [...rows, ...filler(pad)], 'nothing'))).toBe(AWKWARD.length + pad);
    for (const [i, s] of AWKWARD.entries()) {
      const r = await read(keys[i]!);
      expect(r).toMatchObject({ label: `label ${i} ${s}`, body: s, note: s, quantity: -2147483648 + i, flag: i % 2 === 0, tags: [tag, keys[i]] });
      expect(r.amount).toBe(i === 0 ? -0.000123 : 1e21 + i);
      expect(r.doc).toEqual({ s, nested: [s, null, { n: i }] });
      expect(r.seen_at!.toISOString()).toBe('2026-11-30T21:59:59.123Z');
      expect(r.created_at).toBeInstanceOf(Date);
      expect(r.updated_at).toBeNull();
    }
  });

  it('gives fields a row leaves out their default (or null), and keeps an explicit null', async () => {
    const [a, b] = [id(), id()];
    const rows = [row({ id: a, label: 'only a label' }), row({ id: b, quantity: null, note: null, flag: false, body: 'x' }), ...filler(pad)];
    expect(await tx((sql) => insertRows(sql, probe, rows, 'nothing'))).toBe(2 + pad);
    expect(await read(a)).toMatchObject({ quantity: 7, flag: true, note: 'none', body: null, amount: null, doc: null, tags: null, seen_at: null });
    expect(await read(b)).toMatchObject({ label: null, quantity: null, note: null, flag: false, body: 'x' });
  });

  it("with 'nothing' skips rows whose key or unique value exists and counts only the rows it inserted", async () => {
    const [a, b, c] = [id(), id(), id()];
    await tx((sql) => insertRows(sql, probe, [row({ id: a, label: 'A', body: 'first' })], 'nothing'));
    const rows = [row({ id: a, label: 'A2', body: 'second' }), row({ id: b, label: 'A', body: 'taken label' }), row({ id: c, label: 'C' }), ...filler(pad)];
    expect(await tx((sql) => insertRows(sql, probe, rows, 'nothing'))).toBe(1 + pad);
    expect(await read(a)).toMatchObject({ label: 'A', body: 'first', updated_at: null });
    expect(await t.knex('write_probe').where({ id: b }).first()).toBeUndefined();
    expect(await read(c)).toMatchObject({ label: 'C' });
  });

  it("with 'update' merges a row whose key exists into it and stamps updated_at", async () => {
    const [a, b] = [id(), id()];
    await tx((sql) => insertRows(sql, probe, [row({ id: a, label: 'A', body: 'first', amount: 1 })], 'nothing'));
    const rows = [row({ id: a, label: 'A', body: 'second\tline' }), row({ id: b, label: 'B' }), ...filler(pad)];
    // PostgreSQL counts a row updated by ON CONFLICT DO UPDATE too.
    expect(await tx((sql) => insertRows(sql, probe, rows, 'update'))).toBe(2 + pad);
    // No row gave amount: untouched; quantity has a default, given to every row.
    expect(await read(a)).toMatchObject({ body: 'second\tline', amount: 1, quantity: 7 });
    expect((await read(a)).updated_at).toBeInstanceOf(Date);
    expect(await read(b)).toMatchObject({ label: 'B', updated_at: null });
  });

  it('inserts in key order, whatever order the rows come in', async () => {
    const rows = Array.from({ length: 500 + pad }, () => row({ id: id() }));
    await tx((sql) => insertRows(sql, probe, rows, 'nothing'));
    // Rows of one size, in a fresh table: their physical order is the order the statement inserted them (and took its
    // locks). With rows of different sizes a smaller one may go back to an earlier page that still has room.
    const { rows: stored } = await t.knex.raw<{ rows: { id: string }[] }>('SELECT id FROM write_probe ORDER BY ctid');
    expect(stored.map((r) => r.id)).toEqual(rows.map((r) => r.key.id).sort());
  });
});

describe.each(WAYS)('updateRows, %s', (_way, pad) => {
  /** Rows to update, and the filler rows (existing too) that make the write go the way under test. */
  const seed = async (n: number) => {
    const keys = Array.from({ length: n }, id);
    const extra = filler(pad);
    await tx((sql) => insertRows(sql, probe, [...keys.map((k, i) => row({ id: k, label: `L${i}`, body: `B${i}`, amount: i })), ...extra], 'nothing'));
    return { keys, extra: extra.map((r) => row({ id: r.key.id, body: 'filler body' })) };
  };

  it('sets the fields every row gives, awkward strings included, and stamps updated_at', async () => {
    const { keys, extra } = await seed(AWKWARD.length);
    await tx((sql) => updateRows(sql, probe, [...keys.map((k, i) => row({ id: k, body: AWKWARD[i], doc: JSON.stringify([AWKWARD[i]]) })), ...extra.map((r) => row({ id: r.key.id, body: 'b', doc: '[]' }))]));
    for (const [i, k] of keys.entries()) {
      const r = await read(k);
      expect(r).toMatchObject({ body: AWKWARD[i], doc: [AWKWARD[i]], label: `L${i}`, amount: i });
      expect(r.updated_at).toBeInstanceOf(Date);
    }
    expect(await t.knex('write_probe').where({ body: 'b' }).count()).toEqual([{ count: pad }]);
  });

  it('leaves a field alone in the rows that do not give it (merge), and skips rows that give only their key', async () => {
    const { keys, extra } = await seed(4);
    const rows = [
      row({ id: keys[0], body: 'new body' }),
      row({ id: keys[1], amount: 99, label: null }),
      row({ id: keys[2] }),
      row({ id: keys[3], body: null, amount: 5 }),
      ...extra,
    ];
    await tx((sql) => updateRows(sql, probe, rows));
    expect(await read(keys[0]!)).toMatchObject({ body: 'new body', amount: 0, label: 'L0' });
    expect(await read(keys[1]!)).toMatchObject({ body: 'B1', amount: 99, label: null });
    expect(await read(keys[2]!)).toMatchObject({ body: 'B2', amount: 2, label: 'L2', updated_at: null });
    expect(await read(keys[3]!)).toMatchObject({ body: null, amount: 5, label: 'L3' });
    expect(await t.knex('write_probe').where({ body: 'filler body' }).count()).toEqual([{ count: pad }]);
  });
});

describe('the staging table (many rows)', () => {
  it('starts empty for every write: several writes of one entity in one transaction, and again after a savepoint is rolled back', async () => {
    const [a, b, c] = [id(), id(), id()];
    const many = (r: WriteRow, tag: string) => [r, ...filler(COPY_MIN_ROWS, tag)];
    await tx(async (sql) => {
      expect(await insertRows(sql, probe, many(row({ id: a, label: 'A' }), 'first'), 'nothing')).toBe(COPY_MIN_ROWS + 1);
      await updateRows(sql, probe, [row({ id: a, body: 'updated' }), ...filler(COPY_MIN_ROWS).map((r) => row({ id: r.key.id, body: 'x' }))]);
      await sql.query('SAVEPOINT s');
      expect(await insertRows(sql, probe, many(row({ id: b, label: 'B' }), 'second'), 'update')).toBe(COPY_MIN_ROWS + 1);
      await sql.query('ROLLBACK TO SAVEPOINT s');
      // The stage, emptied after the savepoint, is back as it was: this write must still find it empty.
      expect(await insertRows(sql, probe, many(row({ id: c, label: 'C' }), 'third'), 'update')).toBe(COPY_MIN_ROWS + 1);
    });
    const rows = await t.knex('write_probe').whereIn('id', [a, b, c]).select('id', 'label', 'body').orderBy('label');
    expect(rows).toEqual([
      { id: a, label: 'A', body: 'updated' },
      { id: c, label: 'C', body: null },
    ]);
    expect(await t.knex('write_probe').count()).toEqual([{ count: 2 * (COPY_MIN_ROWS + 1) }]);
  });

  it('is kept by the connection from one transaction to the next, empty, and a refused COPY leaves the connection usable', async () => {
    const [a, b, c] = [id(), id(), id()];
    await withConnection(t.knex, async (sql) => {
      for (const [key, label] of [[a, 'A'], [b, 'B']] as const) {
        await sql.query('BEGIN');
        expect(await insertRows(sql, probe, [row({ id: key, label }), ...filler(COPY_MIN_ROWS, label)], 'nothing')).toBe(COPY_MIN_ROWS + 1);
        await sql.query('COMMIT');
      }
      await sql.query('BEGIN');
      // February 30th passes as a date-time string; PostgreSQL's input function refuses it during the COPY.
      const bad = [row({ id: c, label: 'C', seenAt: '2026-02-30T10:00:00Z' }), ...filler(COPY_MIN_ROWS, 'bad')];
      const refused = await insertRows(sql, probe, bad, 'nothing').catch((e: unknown) => e);
      expect(classifyDbError(refused, 'write')).toMatchObject({ code: 'VALUE_INVALID' });
      await sql.query('ROLLBACK');
      await sql.query('BEGIN');
      expect(await insertRows(sql, probe, [row({ id: c, label: 'C' }), ...filler(COPY_MIN_ROWS, 'C')], 'nothing')).toBe(COPY_MIN_ROWS + 1);
      await sql.query('COMMIT');
    });
    expect((await t.knex('write_probe').whereIn('id', [a, b, c]).pluck('label')).sort()).toEqual(['A', 'B', 'C']);
    expect(await t.knex('write_probe').count()).toEqual([{ count: 3 * (COPY_MIN_ROWS + 1) }]);
  });

  it('is emptied first only once this connection filled it: the first write of a transaction sends no TRUNCATE', async () => {
    await withConnection(t.knex, async (sql) => {
      await sql.query('BEGIN');
      // Empty as the commit before left it (or new): creating it if needed is all it takes.
      expect(stagePreparation(sql, probe)).not.toMatch(/TRUNCATE/);
      expect(await insertRows(sql, probe, filler(COPY_MIN_ROWS, 'once'), 'nothing')).toBe(COPY_MIN_ROWS);
      expect(stagePreparation(sql, probe)).toMatch(/TRUNCATE/);
      await sql.query('ROLLBACK');
    });
    // Another connection (or the same one, taken again from the pool) starts with nothing filled.
    await withConnection(t.knex, async (sql) => expect(stagePreparation(sql, probe)).not.toMatch(/TRUNCATE/));
  });

  it('refuses a write of many rows outside a transaction, where the stage would lose them at each statement', async () => {
    await withConnection(t.knex, async (sql) => {
      await expect(insertRows(sql, probe, filler(COPY_MIN_ROWS), 'nothing')).rejects.toThrow(/inside a transaction/);
      // A few rows need no stage: one statement, which commits on its own.
      expect(await insertRows(sql, probe, filler(3), 'nothing')).toBe(3);
    });
    expect(await t.knex('write_probe').count()).toEqual([{ count: 3 }]);
  });
});
