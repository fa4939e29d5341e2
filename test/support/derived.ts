import type { Knex } from 'knex';
import { withTransaction } from '../../src/db/sql';
import type { IndexerSet } from '../../src/indexing/registry';

type Snapshot = Map<string, string>;

/** Every derived field of the catalog, one comparable string per record. */
async function snapshot(knex: Knex): Promise<Snapshot> {
  const products = await knex.raw<{ rows: { id: string; v: string }[] }>(
    `SELECT 'product:' || id AS id,
            concat_ws(' | ', ARRAY(SELECT unnest(category_tree) ORDER BY 1)::text, search_keywords::text) AS v FROM product`,
  );
  const categories = await knex.raw<{ rows: { id: string; v: string }[] }>(
    `SELECT 'category:' || id AS id, concat_ws(' | ', path::text, level::text, breadcrumb::text, child_count::text) AS v FROM category`,
  );
  return new Map([...products.rows, ...categories.rows].map((r) => [r.id, r.v]));
}

/** What a full re-index does, run inline: every indexer over every record, in batches. */
export async function reindexInline(knex: Knex, indexers: IndexerSet): Promise<void> {
  for (const ix of indexers.all) {
    let after: string | null = null;
    for (;;) {
      const ids: string[] = await withTransaction(knex, async (sql) => {
        const batch = await ix.batch(sql, after, 1000);
        await ix.index(sql, batch);
        return batch;
      }, { retries: 3 });
      if (ids.length < 1000) break;
      after = ids[ids.length - 1]!;
    }
  }
}

/**
 * The records whose derived fields differ from what a full re-index gives (it runs one, then compares): empty when
 * the queue healed everything.
 */
export async function staleAfterFullReindex(knex: Knex, indexers: IndexerSet): Promise<{ record: string; was: string | undefined; is: string | undefined }[]> {
  const before = await snapshot(knex);
  await reindexInline(knex, indexers);
  const after = await snapshot(knex);
  const out: { record: string; was: string | undefined; is: string | undefined }[] = [];
  for (const [record, is] of after) if (before.get(record) !== is) out.push({ record, was: before.get(record), is });
  return out;
}
