import { ident } from '../../db/sql';
import { everyTranslation } from '../../definitions/sql/translated';
import type { Registry } from '../../definitions/registry';
import type { EntityDef, IndexerDef } from '../../definitions/types';
import type { Key } from '../../write/keys';
import type { Indexer } from '../types';
import { col, idsOf, keysetBatch, lockAndIndex, pkCol } from './common';

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
  const viaTranslation = new Map<string, { entity: EntityDef; fk: string }>();
  const owned = new Set<string>();
  for (const src of def.sources) {
    const [first, second] = src.split('.') as [string, string | undefined];
    if (second === undefined) {
      // A translated field: the text of every language, so that a search in any of them finds the record.
      const field = entity.fields[first]!;
      if (field.translated) {
        parts.push(`left(${everyTranslation(entity, field, `${e}.${eId}`)}, ${SEARCH_TEXT_MAX_LENGTH})`);
        owned.add(entity.translation!.entity);
      } else parts.push(`left(${e}.${col(entity, first)}, ${SEARCH_TEXT_MAX_LENGTH})`);
      continue;
    }
    const assoc = entity.associations[first]!;
    if (assoc.type !== 'manyToOne') throw new Error(`${def.name}: ${first} is not many-to-one`);
    const target = registry.get(assoc.entity);
    via.set(target.name, { entity: target, fk: assoc.via });
    const field = target.fields[second]!;
    if (field.translated) {
      parts.push(`left(${everyTranslation(target, field, `${e}.${col(entity, assoc.via)}`)}, ${SEARCH_TEXT_MAX_LENGTH})`);
      viaTranslation.set(target.translation!.entity, { entity: target, fk: assoc.via });
    } else parts.push(`left((SELECT x.${col(target, second)} FROM ${ident(target.table)} x WHERE x.${pkCol(target)} = ${e}.${col(entity, assoc.via)}), ${SEARCH_TEXT_MAX_LENGTH})`);
  }
  /** Translation entities whose rows belong to this entity's records, and those of associated records. */
  function ownerIds(changed: EntityDef, keys: readonly Key[]): string[] {
    const tr = changed.translates ? registry.get(changed.translates).translation! : undefined;
    return tr ? keys.map((k) => k[tr.ownerKey]!) : [];
  }
  // Records whose association points at a changed (or deleted) record: before the change for deletes, after for writes.
  const referencing = async (sql: Parameters<Indexer['index']>[0], changed: EntityDef, ids: string[]) => {
    const v = via.get(changed.name) ?? viaTranslation.get(changed.name);
    if (!v || !ids.length) return [];
    const { rows } = await sql.query<{ id: string }>(`SELECT ${eId} AS id FROM ${e} WHERE ${col(entity, v.fk)} = ANY($1::uuid[])`, [ids]);
    return rows.map((r) => String(r.id));
  };
  return {
    name: def.name,
    entity,
    listens: [entity.name, ...owned, ...via.keys(), ...viaTranslation.keys()],
    contendedBy: [...via.keys()],
    readsBefore: (changed) => changed.name !== entity.name && !owned.has(changed.name),
    before: async (sql, changed, keys) => {
      if (changed.name === entity.name) return [];
      if (owned.has(changed.name)) return ownerIds(changed, keys);
      return referencing(sql, changed, viaTranslation.has(changed.name) ? ownerIds(changed, keys) : idsOf(changed, keys));
    },
    after: async (sql, changed, keys) => {
      if (changed.name === entity.name) return idsOf(entity, keys);
      if (owned.has(changed.name)) return ownerIds(changed, keys);
      return referencing(sql, changed, viaTranslation.has(changed.name) ? ownerIds(changed, keys) : idsOf(changed, keys));
    },
    // Rows whose text did not change are not rewritten (a stock update leaves the keywords as they are).
    async index(sql, ids) {
      if (!ids.length) return;
      const doc = (list: string) =>
        `SELECT ${e}.${eId} AS id, to_tsvector('simple', left(concat_ws(' ', ${parts.join(', ')}), ${SEARCH_TEXT_MAX_LENGTH})) AS doc FROM ${e} WHERE ${e}.${eId} = ANY(${list})`;
      const target = entity.fields[def.target]!;
      const side = target.sideTable;
      if (side) {
        // In a table of its own (product_search): a row per record, inserted or rewritten only when the text changed.
        const s = ident(side.table);
        const c = ident(target.column);
        await lockAndIndex(sql, {
          entity,
          ids,
          recompute: (list) => `INSERT INTO ${s} AS s (${ident(side.key)}, ${c}) SELECT v.id, v.doc FROM (${doc(list)}) v ORDER BY v.id
         ON CONFLICT (${ident(side.key)}) DO UPDATE SET ${c} = EXCLUDED.${c} WHERE s.${c} IS DISTINCT FROM EXCLUDED.${c}`,
        });
        return;
      }
      await lockAndIndex(sql, {
        entity,
        ids,
        recompute: (list) => `UPDATE ${e} SET ${col(entity, def.target)} = v.doc FROM (${doc(list)}) AS v
         WHERE ${e}.${eId} = v.id AND ${e}.${col(entity, def.target)} IS DISTINCT FROM v.doc`,
        // Keywords no read returns change nothing a reader sees: no change-feed entry, no listing comparison.
        unseen: !target.readable,
      });
    },
    batch: (sql, after, size) => keysetBatch(sql, entity, after, size),
  };
}
