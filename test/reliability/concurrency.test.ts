import { toApiId, toDbId } from '../../src/definitions/ids';
import { withTransaction } from '../../src/db/sql';
import { startTestApp, type TestApp } from '../support/app';
import { scale } from '../support/reliability';
import { createTax, sync } from '../support/sync';
import { hexId, price } from '../fixtures/catalog';

/**
 * 8 clients at once, each its own stream of syncs with overlapping keys, indexing inline (the default): products
 * updated by several clients, linked to categories given only by id, categories renamed while products link to
 * them, new child categories appearing under shared parents. Every answer must be 200; nothing written may be lost
 * or doubled; every derived field must equal what a full re-index computes.
 */

const CLIENTS = 8;
const ROUNDS = scale(8, 80);
const PRODUCTS = 300;
jest.setTimeout(scale(120_000, 900_000));

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_PER_MINUTE: '1000000' });
});
afterAll(() => t.close());

function pickSome<T>(list: readonly T[], n: number): T[] {
  const copy = [...list];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

/** Every derived column, by table and id, as stored. */
async function derivedSnapshot(): Promise<string> {
  const products = await t.knex.raw(`SELECT id, category_tree, search_keywords::text AS kw FROM product ORDER BY id`);
  const categories = await t.knex.raw(`SELECT id, path, level, child_count, breadcrumb FROM category ORDER BY id`);
  return JSON.stringify([products.rows, categories.rows]);
}

/** What a full re-index gives, computed in a transaction that is rolled back. */
async function reindexedSnapshot(): Promise<string> {
  let snapshot = '';
  await withTransaction(
    t.knex,
    async (sql) => {
      for (const ix of t.indexers.all) {
        const { rows } = await sql.query<{ id: string }>(`SELECT id FROM ${ix.entity.table}`);
        await ix.index(sql, rows.map((r) => String(r.id)));
      }
      const products = await sql.query(`SELECT id, category_tree, search_keywords::text AS kw FROM product ORDER BY id`);
      const categories = await sql.query(`SELECT id, path, level, child_count, breadcrumb FROM category ORDER BY id`);
      snapshot = JSON.stringify([products.rows, categories.rows]);
      throw new Error('rollback');
    },
    { retries: 0 },
  ).catch((e) => {
    if ((e as Error).message !== 'rollback') throw e;
  });
  return snapshot;
}

describe(`${CLIENTS} concurrent clients with overlapping keys and inline indexing`, () => {
  it('answer 200 every time, lose and double nothing, and leave derived data as a full re-index would', async () => {
    const taxId = await createTax(t.app);
    // A category tree: 4 roots, 3 children each, 3 grandchildren each.
    const roots = Array.from({ length: 4 }, () => hexId());
    const mids = roots.flatMap((p) => Array.from({ length: 3 }, () => ({ id: hexId(), parentId: p })));
    const leaves = mids.flatMap((m) => Array.from({ length: 3 }, () => ({ id: hexId(), parentId: m.id })));
    await sync(t.app, {
      c: {
        entity: 'category',
        action: 'upsert',
        payload: [...roots.map((id) => ({ id, name: `root ${id.slice(0, 4)}` })), ...[...mids, ...leaves].map((c) => ({ ...c, name: `cat ${c.id.slice(0, 4)}` }))],
      },
    }).expect(200);
    const categoryIds = [...roots, ...mids.map((m) => m.id), ...leaves.map((l) => l.id)];
    const productIds = Array.from({ length: PRODUCTS }, () => hexId());
    await sync(t.app, {
      p: {
        entity: 'product',
        action: 'upsert',
        payload: productIds.map((id, n) => ({ id, productNumber: `CC-${n}`, name: `Product ${n}`, stock: 0, price: price(), taxId })),
      },
    }).expect(200);

    // Each product field has one owner among the clients, so its last successful write must be what stays.
    const owned = ['name', 'stock', 'ean', 'description', 'weight', 'active'] as const;
    const valueOf = (field: (typeof owned)[number], client: number, round: number): unknown => {
      if (field === 'stock') return client * 1000 + round;
      if (field === 'weight') return round + client / 10;
      if (field === 'active') return round % 2 === 0;
      return `${field} ${client}/${round}`;
    };
    const lastWritten = new Map<string, unknown>();
    const links = new Set<string>();
    const categoryNames = new Map<string, string>();
    const newCategories: { id: string; parentId: string }[] = [];
    const failures: string[] = [];
    let requests = 0;

    const client = async (c: number) => {
      for (let round = 0; round < ROUNDS; round++) {
        const body: Record<string, unknown> = {};
        const writes: [string, unknown][] = [];
        const linked: string[] = [];
        const named: [string, string][] = [];
        let created: { id: string; parentId: string } | undefined;
        if (c < owned.length) {
          const field = owned[c]!;
          const payload = pickSome(productIds, 40).map((id) => {
            const value = valueOf(field, c, round);
            writes.push([`${id}.${field}`, value]);
            const cats = pickSome(categoryIds, 2);
            for (const cat of cats) linked.push(`${id}|${cat}`);
            return { id, [field]: value, categories: cats.map((cat) => ({ id: cat })) };
          });
          body[`products-${c}`] = { entity: 'product', action: 'upsert', payload };
        }
        if (c >= owned.length || round % 3 === 0) {
          // Renames of the categories this client owns (halves of the tree), and now and then a new leaf.
          const mine = categoryIds.filter((_, i) => i % 2 === c % 2);
          const payload: Record<string, unknown>[] = pickSome(mine, 6).map((id) => {
            const name = `cat ${c}/${round} ${id.slice(0, 4)}`;
            named.push([id, name]);
            return { id, name };
          });
          if (c >= owned.length) {
            created = { id: hexId(), parentId: pickSome(mids, 1)[0]!.id };
            payload.push({ ...created, name: `new ${c}/${round}` });
            named.push([created.id, `new ${c}/${round}`]);
          }
          body[`categories-${c}`] = { entity: 'category', action: 'upsert', payload };
        }
        requests++;
        const res = await sync(t.app, body);
        if (res.status !== 200) {
          failures.push(`${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
          continue;
        }
        for (const [k, v] of writes) lastWritten.set(k, v);
        for (const l of linked) links.add(l);
        for (const [id, name] of named) categoryNames.set(id, name);
        if (created) newCategories.push(created);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

    expect(failures).toEqual([]);
    expect(requests).toBe(CLIENTS * ROUNDS);

    // Nothing lost: each field holds its owner's last write.
    const rows = await t.knex('product').select('*');
    expect(rows).toHaveLength(PRODUCTS);
    const lost: string[] = [];
    for (const r of rows) {
      for (const f of owned) {
        const expected = lastWritten.get(`${toApiId(r.id)}.${f}`);
        const column = f;
        if (expected !== undefined && r[column] !== expected) lost.push(`${toApiId(r.id)}.${f}: ${r[column]} instead of ${expected}`);
      }
    }
    expect(lost).toEqual([]);
    const stored = await t.knex('product_category').select('product_id', 'category_id');
    const storedLinks = new Set(stored.map((l) => `${toApiId(l.product_id)}|${toApiId(l.category_id)}`));
    expect(stored).toHaveLength(storedLinks.size);
    expect([...links].filter((l) => !storedLinks.has(l))).toEqual([]);
    expect(storedLinks.size).toBe(links.size);
    const categories = await t.knex('category').select('id', 'name');
    expect(categories).toHaveLength(categoryIds.length + newCategories.length);
    const names = new Map(categories.map((c) => [toApiId(c.id), c.name]));
    expect([...categoryNames].filter(([id, name]) => names.get(id) !== name)).toEqual([]);
    for (const n of newCategories) expect(names.has(n.id)).toBe(true);
    expect(toDbId(newCategories[0]!.id)).toBeTruthy();

    // Derived data: as a full re-index computes it.
    expect(await derivedSnapshot()).toEqual(await reindexedSnapshot());
  });
});
