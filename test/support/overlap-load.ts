import path from 'node:path';
import type { Knex } from 'knex';
import { readSource } from '../../src/definitions/sql/translated';
import { loadRegistry } from '../../src/definitions/registry';
import { toApiId } from '../../src/definitions/ids';
import { withTransaction } from '../../src/db/sql';
import type { IndexerSet } from '../../src/indexing/registry';
import { hexId, price } from '../fixtures/catalog';

/**
 * A workload for concurrent clients with overlapping keys: products updated by several clients at once (each client
 * owns one field of every product, so that its last successful write must be what stays), linked to categories
 * given only by id, categories renamed while products link to them, new leaves appearing under shared parents.
 * `verify` then checks that nothing was lost or doubled and that derived data equals a full re-index.
 */

export interface Answer {
  status: number;
  body: unknown;
}

/** Sends one sync body as client `client`, round `round`, and says how it was answered. */
export type Send = (body: Record<string, unknown>, client: number, round: number) => Promise<Answer>;

/** The catalog's definitions: stored rows are read with their translated fields (default language) as columns. */
const CATALOG = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const storedRows = (knex: Knex, entity: string) => knex.from(knex.raw(`${readSource(CATALOG.get(entity))} AS s`));

const OWNED = ['name', 'stock', 'ean', 'description', 'weight', 'active'] as const;
type Owned = (typeof OWNED)[number];

function pickSome<T>(list: readonly T[], n: number): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

function valueOf(field: Owned, client: number, round: number): unknown {
  if (field === 'stock') return client * 1000 + round;
  if (field === 'weight') return round + client / 10;
  if (field === 'active') return round % 2 === 0;
  return `${field} ${client}/${round}`;
}

export class OverlapLoad {
  private readonly categoryIds: string[] = [];
  private readonly mids: string[] = [];
  private readonly productIds: string[] = [];
  private readonly lastWritten = new Map<string, unknown>();
  private readonly links = new Set<string>();
  private readonly categoryNames = new Map<string, string>();
  private readonly created: string[] = [];
  /** Answers other than 200: status and the start of the body. */
  readonly failures: string[] = [];
  requests = 0;

  constructor(private readonly products = 300) {}

  /** The first two bodies: a category tree (4 roots × 3 × 3) and the products. Send them before the clients run. */
  seedBodies(taxId: string): Record<string, unknown>[] {
    const roots = Array.from({ length: 4 }, () => hexId());
    const mids = roots.flatMap((p) => Array.from({ length: 3 }, () => ({ id: hexId(), parentId: p })));
    const leaves = mids.flatMap((m) => Array.from({ length: 3 }, () => ({ id: hexId(), parentId: m.id })));
    this.categoryIds.push(...roots, ...mids.map((m) => m.id), ...leaves.map((l) => l.id));
    this.mids.push(...mids.map((m) => m.id));
    this.productIds.push(...Array.from({ length: this.products }, () => hexId()));
    return [
      {
        c: {
          entity: 'category',
          action: 'upsert',
          payload: [...roots.map((id) => ({ id, name: `root ${id.slice(0, 4)}` })), ...[...mids, ...leaves].map((c) => ({ ...c, name: `cat ${c.id.slice(0, 4)}` }))],
        },
      },
      {
        p: {
          entity: 'product',
          action: 'upsert',
          payload: this.productIds.map((id, n) => ({ id, productNumber: `OV-${n}`, name: `Product ${n}`, stock: 0, price: price(), taxId })),
        },
      },
    ];
  }

  /** Runs `clients` clients of `rounds` requests each, all at once. */
  async run(clients: number, rounds: number, send: Send): Promise<void> {
    await Promise.all(Array.from({ length: clients }, (_, c) => this.client(c, rounds, send)));
  }

  private async client(c: number, rounds: number, send: Send): Promise<void> {
    for (let round = 0; round < rounds; round++) {
      const body: Record<string, unknown> = {};
      const writes: [string, unknown][] = [];
      const linked: string[] = [];
      const named: [string, string][] = [];
      let created: string | undefined;
      const field = OWNED[c % (OWNED.length + 2)];
      if (field) {
        const payload = pickSome(this.productIds, 40).map((id) => {
          const value = valueOf(field, c, round);
          writes.push([`${id}.${field}`, value]);
          const cats = pickSome(this.categoryIds, 2);
          for (const cat of cats) linked.push(`${id}|${cat}`);
          return { id, [field]: value, categories: cats.map((cat) => ({ id: cat })) };
        });
        body[`products-${c}`] = { entity: 'product', action: 'upsert', payload };
      }
      if (!field || round % 3 === 0) {
        // Renames of the categories this client owns (halves of the tree), and now and then a new leaf.
        const mine = this.categoryIds.filter((_, i) => i % 2 === c % 2);
        const payload: Record<string, unknown>[] = pickSome(mine, 6).map((id) => {
          const name = `cat ${c}/${round} ${id.slice(0, 4)}`;
          named.push([id, name]);
          return { id, name };
        });
        if (!field) {
          created = hexId();
          const name = `new ${c}/${round}`;
          payload.push({ id: created, parentId: pickSome(this.mids, 1)[0]!, name });
          named.push([created, name]);
        }
        body[`categories-${c}`] = { entity: 'category', action: 'upsert', payload };
      }
      this.requests++;
      const res = await send(body, c, round);
      if (res.status !== 200) {
        this.failures.push(`${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        continue;
      }
      for (const [k, v] of writes) this.lastWritten.set(k, v);
      for (const l of linked) this.links.add(l);
      for (const [id, name] of named) this.categoryNames.set(id, name);
      if (created) this.created.push(created);
    }
  }

  /** What was written and is not (or is twice); empty when all is well. */
  async lostOrDoubled(knex: Knex): Promise<string[]> {
    const problems: string[] = [];
    const rows = await storedRows(knex, 'product').select('*');
    if (rows.length !== this.products) problems.push(`${rows.length} products instead of ${this.products}`);
    for (const r of rows) {
      for (const f of OWNED) {
        const expected = this.lastWritten.get(`${toApiId(r.id)}.${f}`);
        if (expected !== undefined && r[f] !== expected) problems.push(`product ${toApiId(r.id)}.${f}: ${r[f]} instead of ${expected}`);
      }
    }
    const stored = await knex('product_category').select('product_id', 'category_id');
    const storedLinks = new Set(stored.map((l) => `${toApiId(l.product_id)}|${toApiId(l.category_id)}`));
    if (stored.length !== storedLinks.size) problems.push('a product-category link is stored twice');
    for (const l of this.links) if (!storedLinks.has(l)) problems.push(`link ${l} is lost`);
    if (storedLinks.size !== this.links.size) problems.push(`${storedLinks.size} links stored, ${this.links.size} written`);
    const categories = await storedRows(knex, 'category').select('id', 'name');
    if (categories.length !== this.categoryIds.length + this.created.length) {
      problems.push(`${categories.length} categories instead of ${this.categoryIds.length + this.created.length}`);
    }
    const names = new Map(categories.map((c) => [toApiId(c.id), c.name]));
    for (const [id, name] of this.categoryNames) if (names.get(id) !== name) problems.push(`category ${id} is named ${names.get(id)}, not ${name}`);
    return problems;
  }
}

const SNAPSHOT = [
  `SELECT 'product' AS entity, p.id, p.category_tree, s.search_keywords::text AS kw FROM product p LEFT JOIN product_search s ON s.product_id = p.id ORDER BY p.id`,
  `SELECT 'category' AS entity, id, path, level, child_count, breadcrumb FROM category ORDER BY id`,
];

/** Derived columns by entity and id, each row as JSON. */
export type Snapshot = Map<string, string>;

function toSnapshot(results: { rows: Record<string, unknown>[] }[]): Snapshot {
  const out: Snapshot = new Map();
  for (const r of results) for (const row of r.rows) out.set(`${row.entity} ${row.id}`, JSON.stringify(row));
  return out;
}

/** Every derived column of products and categories, as stored. */
export async function derivedSnapshot(knex: Knex): Promise<Snapshot> {
  const results = [];
  for (const q of SNAPSHOT) results.push(await knex.raw(q));
  return toSnapshot(results);
}

/** The rows of `actual` that differ from `expected` (at most `max`, each with both versions); empty when equal. */
export function snapshotDiff(actual: Snapshot, expected: Snapshot, max = 5): string[] {
  const out: string[] = [];
  let differing = 0;
  for (const key of new Set([...actual.keys(), ...expected.keys()])) {
    if (actual.get(key) === expected.get(key)) continue;
    if (differing++ < max) out.push(`${key}: stored ${actual.get(key)}, a re-index gives ${expected.get(key)}`);
  }
  if (differing > max) out.push(`… ${differing} rows differ in all`);
  return out;
}

/** The same columns as a full re-index computes them, in a transaction that is rolled back. */
export async function reindexedSnapshot(knex: Knex, indexers: IndexerSet): Promise<Snapshot> {
  const ROLLBACK = new Error('rollback');
  let snapshot: Snapshot = new Map();
  await withTransaction(
    knex,
    async (sql) => {
      for (const ix of indexers.all) {
        const { rows } = await sql.query<{ id: string }>(`SELECT id FROM ${ix.entity.table} ORDER BY id`);
        // In batches, as the full re-index does: one call with every id of a large catalog takes minutes.
        const ids = rows.map((r) => String(r.id));
        for (let i = 0; i < ids.length; i += 1000) await ix.index(sql, ids.slice(i, i + 1000));
      }
      const results = [];
      for (const q of SNAPSHOT) results.push(await sql.query(q));
      snapshot = toSnapshot(results);
      throw ROLLBACK;
    },
    { retries: 0 },
  ).catch((e) => {
    if (e !== ROLLBACK) throw e;
  });
  return snapshot;
}
