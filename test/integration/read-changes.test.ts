import { Client } from 'pg';
import request from 'supertest';
import { pruneChanges, untrackedEntities } from '../../src/read/changes';
import { startTestApp, type TestApp } from '../support/app';
import { sync } from '../support/sync';
import { hexId, price, EN_LANGUAGE } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

interface Entry {
  entity: string;
  id: string | Record<string, string>;
  op: 'upsert' | 'delete';
  at: string;
}

function changes(query: Record<string, string | number>) {
  return request(t.app).get('/api/_action/changes').query(query);
}

async function now(): Promise<string> {
  return (await changes({ since: 'now' }).expect(200)).body.next;
}

/** Reads from `since` until a read answers nothing; returns every entry and the cursor to continue from. */
async function drain(since: string, extra: Record<string, string | number> = {}): Promise<{ entries: Entry[]; next: string; reads: number }> {
  const entries: Entry[] = [];
  let cursor = since;
  for (let reads = 1; ; reads++) {
    const res = await changes({ since: cursor, ...extra }).expect(200);
    entries.push(...res.body.data);
    cursor = res.body.next;
    if (!res.body.data.length) return { entries, next: cursor, reads };
    if (reads > 100) throw new Error('the feed does not end');
  }
}

/**
 * The feed only hands out entries of transactions older than every running one of this database: a transaction of
 * the app's own queue worker may hold it back for a moment. Read until `done` holds (or fail after a deadline).
 */
async function until(since: string | undefined, done: (all: Entry[]) => boolean): Promise<{ entries: Entry[]; next: string }> {
  const entries: Entry[] = [];
  let cursor = since;
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await changes(cursor ? { since: cursor } : {}).expect(200);
    entries.push(...res.body.data);
    cursor = res.body.next;
    if (done(entries)) return { entries, next: res.body.next };
    if (Date.now() > deadline) throw new Error(`feed did not catch up: ${JSON.stringify(entries)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const hex = (uuid: string) => uuid.replace(/-/g, '');
const toDb = (h: string) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;

/**
 * A cursor after everything this file wrote so far: writes a marker and reads until it is handed out. Any
 * earlier transaction of this file committed before the marker's began, so it has a smaller id and came first.
 */
let feed: string | undefined;
async function settle(): Promise<string> {
  const marker = hexId();
  await sync(t.app, { m: { entity: 'property_group', action: 'upsert', payload: [{ id: marker, name: 'marker' }] } }).expect(200);
  const { next } = await until(feed, (all) => all.some((e) => e.id === marker));
  feed = next;
  return next;
}

const sameEntry = (e: Entry) => `${e.entity}:${JSON.stringify(e.id)}:${e.op}`;

describe('GET /api/_action/changes', () => {
  it('lists what syncs wrote, transaction by transaction, once per record, ids as 32 hex and mapping keys as objects', async () => {
    const since = await settle();
    const tax = hexId();
    const product = hexId();
    const category = hexId();
    await sync(t.app, { a: { entity: 'tax', action: 'upsert', payload: [{ id: tax, name: 'Standard', taxRate: 19 }] } }).expect(200);
    await sync(t.app, {
      b: { entity: 'category', action: 'upsert', payload: [{ id: category, name: 'Shirts' }] },
      c: { entity: 'product', action: 'upsert', payload: [{ id: product, productNumber: 'F-1', name: 'Shirt', stock: 1, price: price(), taxId: tax, categories: [{ id: category }] }] },
    }).expect(200);
    const { entries } = await until(since, (all) => all.some((e) => e.entity === 'product_category'));
    const listed = entries.map((e) => [e.entity, e.id, e.op]);
    // The first transaction comes first. Inside the second, indexers may update the category and the product
    // again after the link was written: each is listed once, at its last change.
    expect(listed[0]).toEqual(['tax', tax, 'upsert']);
    // Translation rows are listed as entities of their own (docs/read-api.md).
    expect(listed.slice(1)).toHaveLength(5);
    expect(listed.slice(1)).toEqual(
      expect.arrayContaining([
        ['category', category, 'upsert'],
        ['category_translation', { categoryId: category, languageId: EN_LANGUAGE }, 'upsert'],
        ['product', product, 'upsert'],
        ['product_translation', { productId: product, languageId: EN_LANGUAGE }, 'upsert'],
        ['product_category', { productId: product, categoryId: category }, 'upsert'],
      ]),
    );
    for (const e of entries) expect(Date.parse(e.at)).toBeGreaterThan(Date.now() - 60_000);
    // Stored by column; the API names the fields.
    const [row] = (await t.knex.raw(`SELECT key FROM change_log WHERE entity = 'product_category'`)).rows;
    expect(row.key).toEqual({ product_id: expect.any(String), category_id: expect.any(String) });
    expect(hex(row.key.product_id)).toBe(product);
  });

  it("makes no entry for an indexer's rewrite of fields no read returns (a product's search keywords)", async () => {
    const tax = hexId();
    const product = hexId();
    await sync(t.app, { a: { entity: 'tax', action: 'upsert', payload: [{ id: tax, name: 'Unseen', taxRate: 7 }] } }).expect(200);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: product, productNumber: 'UNSEEN-1', name: 'Linen shirt', stock: 1, price: price(), taxId: tax }] } }).expect(200);
    // A new name: the translation row is written, the product gets a new version, and the search indexer (inline)
    // rewrites its keywords, which no read returns.
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [{ id: product, name: 'Woollen scarf' }] } }).expect(200);
    const { rows } = await t.knex.raw(
      `SELECT c.entity, count(*)::int AS n FROM change_log c
        WHERE c.xid = (SELECT max(xid) FROM change_log WHERE entity = 'product_translation' AND key->>'product_id' = ?)
        GROUP BY c.entity ORDER BY c.entity`,
      [toDb(product)],
    );
    expect(rows).toEqual([
      { entity: 'product', n: 1 },
      { entity: 'product_translation', n: 1 },
    ]);
    const found = await request(t.app).post('/api/search/product').send({ term: 'scarf' }).expect(200);
    expect(found.body.data.map((p: { id: string }) => p.id)).toContain(product);
  });

  it('lists deletes, those the database cascades included, and set-null updates', async () => {
    const tax = hexId();
    const maker = hexId();
    const product = hexId();
    const parent = hexId();
    const child = hexId();
    await sync(t.app, {
      a: { entity: 'tax', action: 'upsert', payload: [{ id: tax, name: 'T', taxRate: 1 }] },
      m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id: maker, name: 'Acme' }] },
      c: { entity: 'category', action: 'upsert', payload: [{ id: parent, name: 'P' }, { id: child, name: 'C', parentId: parent }] },
      p: { entity: 'product', action: 'upsert', payload: [{ id: product, productNumber: 'F-2', name: 'x', stock: 1, price: price(), taxId: tax, manufacturerId: maker, categories: [{ id: child }] }] },
    }).expect(200);
    const since = await settle();
    await sync(t.app, {
      dc: { entity: 'category', action: 'delete', payload: [{ id: parent }] },
      dm: { entity: 'product_manufacturer', action: 'delete', payload: [{ id: maker }] },
    }).expect(200);
    const { entries } = await until(since, (all) => all.some((e) => e.entity === 'product_manufacturer'));
    const seen = entries.map(sameEntry);
    expect(seen).toEqual(
      expect.arrayContaining([
        `category:"${parent}":delete`,
        `category:"${child}":delete`,
        `product_category:${JSON.stringify({ productId: product, categoryId: child })}:delete`,
        // ON DELETE SET NULL is an update of the product: it changed, so it is listed.
        `product:"${product}":upsert`,
        `product_manufacturer:"${maker}":delete`,
        // Their translations go with them.
        `category_translation:${JSON.stringify({ categoryId: parent, languageId: EN_LANGUAGE })}:delete`,
        `category_translation:${JSON.stringify({ categoryId: child, languageId: EN_LANGUAGE })}:delete`,
        `product_manufacturer_translation:${JSON.stringify({ languageId: EN_LANGUAGE, productManufacturerId: maker })}:delete`,
      ]),
    );
    expect(seen).toHaveLength(8);
  });

  it('captures writes made outside the API, and a key change as delete + upsert', async () => {
    const since = await settle();
    const a = hexId();
    const b = hexId();
    await t.knex.raw(`INSERT INTO country (id, iso) VALUES (?, 'AT')`, [a]);
    await t.knex.raw(`UPDATE country SET id = ? WHERE id = ?`, [b, a]);
    const { entries } = await until(since, (all) => all.length >= 3);
    expect(entries.map(sameEntry)).toEqual([`country:"${a}":upsert`, `country:"${b}":upsert`, `country:"${a}":delete`]);
  });

  it('never hands out a change past a transaction that is still running, and then hands out both exactly once', async () => {
    const start = await settle();
    const t1Tax = hexId();
    const t2Tax = hexId();
    // T1 begins and writes (it now holds a transaction id), but does not commit yet.
    const t1 = await t.knex.transaction();
    try {
      await t1.raw(`INSERT INTO tax (id, name, tax_rate) VALUES (?, 'T1', 1)`, [t1Tax]);
      // T2 begins later, writes through the sync endpoint and commits.
      await sync(t.app, { t2: { entity: 'tax', action: 'upsert', payload: [{ id: t2Tax, name: 'T2', taxRate: 2 }] } }).expect(200);
      expect(await t.knex('tax').where({ id: t2Tax }).first()).toBeDefined();

      // While T1 runs, T2's committed change is held back: handing it out would move readers past T1's.
      const cursors = [start];
      for (let i = 0; i < 3; i++) {
        const res = await changes({ since: cursors[cursors.length - 1]!, entity: 'tax' }).expect(200);
        expect(res.body.data.map((e: Entry) => e.id)).not.toContain(t2Tax);
        expect(res.body.data.map((e: Entry) => e.id)).not.toContain(t1Tax);
        cursors.push(res.body.next);
      }
      await t1.commit();
      // After T1 commits, reading on from the cursors handed out meanwhile yields both, each exactly once.
      const { entries } = await until(cursors[cursors.length - 1]!, (all) => all.filter((e) => e.entity === 'tax').length >= 2);
      const taxes = entries.filter((e) => e.entity === 'tax').map((e) => e.id);
      expect(taxes).toEqual([t1Tax, t2Tax]);
      const rest = await drain((await until(cursors[cursors.length - 1]!, () => true)).next);
      expect(rest.entries.filter((e) => e.id === t1Tax || e.id === t2Tax)).toEqual([]);
    } finally {
      if (!t1.isCompleted()) await t1.rollback();
    }
  });

  it('is not held back by a transaction of another database on the same server, and answers upserts with the current _version', async () => {
    const start = await settle();
    const other = new Client({ connectionString: process.env.DATABASE_URL });
    await other.connect();
    try {
      // A long transaction elsewhere (another application on the same server) that holds a transaction id.
      await other.query('BEGIN');
      await other.query('SELECT pg_current_xact_id()');
      const tax = hexId();
      await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ id: tax, name: 'Not held back', taxRate: 3 }] } }).expect(200);
      // Handed out while the other transaction still runs (it stays open until the end of this test).
      const { entries } = await until(start, (all) => all.some((e) => e.id === tax));
      const entry = entries.find((e) => e.id === tax);
      const stored = (await request(t.app).get(`/api/tax/${tax}`).expect(200)).body.data;
      expect(entry).toMatchObject({ op: 'upsert', _version: stored._version });
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.end();
    }
  });

  it('hands nothing out of a rolled-back transaction, and starts at the current end with since=now', async () => {
    await settle();
    const since = await now();
    const gone = hexId();
    const kept = hexId();
    const trx = await t.knex.transaction();
    await trx.raw(`INSERT INTO tax (id, name, tax_rate) VALUES (?, 'gone', 1)`, [gone]);
    await trx.rollback();
    await sync(t.app, { k: { entity: 'tax', action: 'upsert', payload: [{ id: kept, name: 'kept', taxRate: 1 }] } }).expect(200);
    const { entries } = await until(since, (all) => all.some((e) => e.id === kept));
    expect(entries.map((e) => e.id)).toEqual([kept]);
  });

  it('pages with limit, filters by entity, and hands every entry out once', async () => {
    const since = await settle();
    const taxes = Array.from({ length: 250 }, (_, i) => ({ id: hexId(), name: `bulk ${i}`, taxRate: 5 }));
    await sync(t.app, {
      t: { entity: 'tax', action: 'upsert', payload: taxes },
      c: { entity: 'country', action: 'upsert', payload: [{ name: 'Elsewhere' }] },
    }).expect(200);
    await until(since, (all) => all.some((e) => e.entity === 'country'));
    const { entries, reads } = await drain(since, { entity: 'tax', limit: 100 });
    // The writer writes a statement's rows in key order; the feed lists them in the order they were written.
    expect(entries.map((e) => e.id)).toEqual(taxes.map((x) => x.id).sort());
    expect(reads).toBe(4); // 100 + 100 + 50, then an empty read
    const both = await drain(since, { entity: 'tax,country', limit: 1000 });
    expect(both.entries).toHaveLength(251);
  });

  it('rejects bad parameters', async () => {
    const unknown = await changes({ entity: 'tax,nonsense' }).expect(400);
    expect(unknown.body.errors[0]).toMatchObject({ code: 'ENTITY_UNKNOWN', meta: { parameter: 'entity' } });
    const cursor = await changes({ since: 'yesterday' }).expect(400);
    expect(cursor.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', meta: { parameter: 'since' } });
    const limit = await changes({ limit: 0 }).expect(400);
    expect(limit.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', meta: { parameter: 'limit' } });
  });

  it('prunes entries older than the retention and refuses a cursor from before them', async () => {
    const old = await settle();
    const id = hexId();
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ id, name: 'old', taxRate: 1 }] } }).expect(200);
    await until(old, (all) => all.some((e) => e.id === id));
    // Age every entry so far beyond the retention.
    await t.knex.raw(`UPDATE change_log SET at = now() - interval '31 days'`);
    const fresh = hexId();
    await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ id: fresh, name: 'fresh', taxRate: 1 }] } }).expect(200);
    expect(await pruneChanges(t.knex, t.config.CHANGES_RETENTION_DAYS)).toBeGreaterThan(250);
    const expired = await changes({ since: old }).expect(400);
    expect(expired.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', meta: { parameter: 'since', reason: 'expired' } });
    // Without a cursor, the feed starts at the oldest entry it still has.
    const deadline = Date.now() + 20_000;
    let first: Entry[] = [];
    while (!first.some((e) => e.id === fresh) && Date.now() < deadline) first = (await changes({}).expect(200)).body.data;
    expect(first.map((e) => e.id)).toEqual([fresh]);
  });

  it('tracks a table a user\'s migration attaches with bulksync_track_changes, and notices an untracked entity', async () => {
    expect(await untrackedEntities(t.knex, t.registry)).toEqual([]);
    for (const event of ['insert', 'update', 'delete']) await t.knex.raw(`DROP TRIGGER bulksync_changes_${event} ON country`);
    expect(await untrackedEntities(t.knex, t.registry)).toEqual(['country']);
    // Idempotent: attaching twice leaves one set of triggers.
    await t.knex.raw(`SELECT bulksync_track_changes('country', 'country', ARRAY['id'])`);
    await t.knex.raw(`SELECT bulksync_track_changes('country', 'country', ARRAY['id'])`);
    expect(await untrackedEntities(t.knex, t.registry)).toEqual([]);
    await expect(t.knex.raw(`SELECT bulksync_track_changes('country', 'country', ARRAY['nope'])`)).rejects.toThrow(/no column\(s\) nope/);

    // A table without a definition (yet): its key is answered by column.
    await t.knex.raw(`CREATE TABLE stock_level (warehouse_id uuid, product_id uuid, quantity int, PRIMARY KEY (warehouse_id, product_id))`);
    await t.knex.raw(`SELECT bulksync_track_changes('stock_level', 'stock_level', ARRAY['warehouse_id', 'product_id'])`);
    // (The pruning test above expired the file's running cursor: start from the current end.)
    const since = await now();
    const [w, p] = [hexId(), hexId()];
    await t.knex.raw(`INSERT INTO stock_level VALUES (?, ?, 5)`, [w, p]);
    const { entries } = await until(since, (all) => all.some((e) => e.entity === 'stock_level'));
    expect(entries.filter((e) => e.entity === 'stock_level').map(sameEntry)).toEqual([`stock_level:${JSON.stringify({ product_id: p, warehouse_id: w })}:upsert`]);
  });
});
