import { ident } from '../../db/sql';
import type { Registry } from '../../definitions/registry';
import type { EntityDef, IndexerDef } from '../../definitions/types';
import type { Indexer } from '../types';
import { col, idsOf, keysetBatch, lockForIndexing, pkCol } from './common';

/**
 * Characters of a record's text that go into its search vector. A tsvector holds at most 1 MB, and a long text of
 * distinct words (a 1 MB description) would exceed it: the write failed with a database error (a 500). Even at the
 * worst ratio of vector bytes to characters (one-character words) this many stay far below the limit.
 */
export const SEARCH_TEXT_MAX_LENGTH = 50_000;

type SearchDef = Extract<IndexerDef, { type: 'search' }>;

/** A tsvector over own text fields and text fields of many-to-one associations (a product's manufacturer name). */
export function searchIndexer(entity: EntityDef, def: SearchDef, registry: Registry): Indexer {
  const e = ident(entity.table);
  const eId = pkCol(entity);
  const parts: string[] = [];
  const via = new Map<string, { entity: EntityDef; fk: string }>();
  for (const src of def.sources) {
    const [first, second] = src.split('.') as [string, string | undefined];
    if (second === undefined) {
      parts.push(`${e}.${col(entity, first)}`);
      continue;
    }
    const assoc = entity.associations[first]!;
    if (assoc.type !== 'manyToOne') throw new Error(`${def.name}: ${first} is not many-to-one`);
    const target = registry.get(assoc.entity);
    via.set(target.name, { entity: target, fk: assoc.via });
    parts.push(`(SELECT x.${col(target, second)} FROM ${ident(target.table)} x WHERE x.${pkCol(target)} = ${e}.${col(entity, assoc.via)})`);
  }
  // Records whose association points at a changed (or deleted) record: before the change for deletes, after for writes.
  const referencing = async (sql: Parameters<Indexer['index']>[0], changed: EntityDef, ids: string[]) => {
    const v = via.get(changed.name);
    if (!v || !ids.length) return [];
    const { rows } = await sql.query<{ id: string }>(`SELECT ${eId} AS id FROM ${e} WHERE ${col(entity, v.fk)} = ANY($1::uuid[])`, [ids]);
    return rows.map((r) => String(r.id));
  };
  return {
    name: def.name,
    entity,
    listens: [entity.name, ...via.keys()],
    contendedBy: [...via.keys()],
    before: async (sql, changed, keys) => (changed.name === entity.name ? [] : referencing(sql, changed, idsOf(changed, keys))),
    after: async (sql, changed, keys) => (changed.name === entity.name ? idsOf(entity, keys) : referencing(sql, changed, idsOf(changed, keys))),
    // Rows whose text did not change are not rewritten (a stock update leaves the keywords as they are).
    async index(sql, ids) {
      if (!ids.length) return;
      await lockForIndexing(sql, entity, ids);
      await sql.query(
        `UPDATE ${e} SET ${col(entity, def.target)} = v.doc
         FROM (SELECT ${e}.${eId} AS id, to_tsvector('simple', left(concat_ws(' ', ${parts.join(', ')}), ${SEARCH_TEXT_MAX_LENGTH})) AS doc FROM ${e} WHERE ${e}.${eId} = ANY($1::uuid[])) AS v
         WHERE ${e}.${eId} = v.id AND ${e}.${col(entity, def.target)} IS DISTINCT FROM v.doc`,
        [ids],
      );
    },
    batch: (sql, after, size) => keysetBatch(sql, entity, after, size),
  };
}
