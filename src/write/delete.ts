import { criteriaToSql } from '../criteria/sql';
import type { Filter } from '../criteria/types';
import { ident, type Sql } from '../db/sql';
import { readSource } from '../definitions/sql/translated';
import type { Registry } from '../definitions/registry';
import type { EntityDef } from '../definitions/types';
import { CHUNK_SIZE, chunks, keyColumns, keyCondition, keyFromRow, keyString, type Key } from './keys';

/** Locks and returns the keys of every record matching the filters, in key order. */
export async function lockMatching(sql: Sql, entity: EntityDef, filters: readonly Filter[]): Promise<Key[]> {
  const params: unknown[] = [];
  // Translated fields are columns of the translation table: filters on them (default language) match through it.
  const where = entity.translation
    ? `${keyColumns(entity)} IN (SELECT ${keyColumns(entity)} FROM ${readSource(entity)} s WHERE ${criteriaToSql(filters, params, 's')})`
    : criteriaToSql(filters, params);
  const { rows } = await sql.query(
    `SELECT ${keyColumns(entity)} FROM ${ident(entity.table)} WHERE ${where} ORDER BY ${keyColumns(entity)} FOR UPDATE`,
    params,
  );
  return rows.map((r) => keyFromRow(entity, r));
}

export interface CascadePlan {
  /** Records the database will delete along with the roots, per entity, in discovery order. */
  cascaded: Map<string, Key[]>;
  /** Records that block the delete: a restrict rule from `field` of `entity` to a record being deleted. */
  restricted: { entity: string; field: string; referenced: string; rootIndex: number }[];
}

/**
 * Walks the delete rules from the roots, level by level (one query per rule and level, never per record):
 * cascade rules collect the records the database will remove with them, restrict rules collect blockers.
 * Each collected record remembers which root brought it in, so that a blocker points at a payload record.
 */
export async function planCascade(
  sql: Sql,
  registry: Registry,
  root: EntityDef,
  roots: readonly { key: Key; index: number }[],
): Promise<CascadePlan> {
  const seen = new Map<string, Map<string, number>>(); // entity → key string → root index
  const mark = (e: EntityDef, key: Key, index: number) => {
    const m = seen.get(e.name) ?? new Map<string, number>();
    seen.set(e.name, m);
    const ks = keyString(e, key);
    if (m.has(ks)) return false;
    m.set(ks, index);
    return true;
  };
  for (const r of roots) mark(root, r.key, r.index);
  const cascaded = new Map<string, Key[]>();
  const restrictRefs: { entity: EntityDef; field: string; target: EntityDef; ids: Map<string, number> }[] = [];
  let frontier: { entity: EntityDef; keys: { key: Key; index: number }[] }[] = [{ entity: root, keys: [...roots] }];
  while (frontier.length) {
    const next = new Map<string, { entity: EntityDef; keys: { key: Key; index: number }[] }>();
    for (const { entity, keys } of frontier) {
      // Only single-column keys are referenced by foreign keys (mapping entities are leaves).
      if (entity.primaryKey.length !== 1 || !keys.length) continue;
      const pk = entity.primaryKey[0]!;
      const idIndex = new Map(keys.map((k) => [k.key[pk]!, k.index]));
      for (const ref of registry.referencing(entity.name)) {
        if (ref.onDelete === 'set null') continue;
        const child = registry.get(ref.entity);
        if (ref.onDelete === 'restrict') {
          restrictRefs.push({ entity: child, field: ref.field, target: entity, ids: idIndex });
          continue;
        }
        const fkCol = ident(child.fields[ref.field]!.column);
        for (const ids of chunks([...idIndex.keys()], CHUNK_SIZE)) {
          const { rows } = await sql.query(
            `SELECT ${keyColumns(child)}, ${fkCol} AS __ref FROM ${ident(child.table)} WHERE ${fkCol} = ANY($1::uuid[]) ORDER BY ${keyColumns(child)}`,
            [ids],
          );
          for (const row of rows) {
            const key = keyFromRow(child, row);
            const index = idIndex.get(String(row.__ref))!;
            if (!mark(child, key, index)) continue;
            const list = cascaded.get(child.name) ?? [];
            list.push(key);
            cascaded.set(child.name, list);
            const n = next.get(child.name) ?? { entity: child, keys: [] };
            n.keys.push({ key, index });
            next.set(child.name, n);
          }
        }
      }
    }
    frontier = [...next.values()];
  }
  const restricted: CascadePlan['restricted'] = [];
  for (const r of restrictRefs) {
    const fkCol = ident(r.entity.fields[r.field]!.column);
    const going = seen.get(r.entity.name);
    for (const ids of chunks([...r.ids.keys()], CHUNK_SIZE)) {
      const { rows } = await sql.query(
        `SELECT ${keyColumns(r.entity)}, ${fkCol} AS __ref FROM ${ident(r.entity.table)} WHERE ${fkCol} = ANY($1::uuid[]) LIMIT 1000`,
        [ids],
      );
      for (const row of rows) {
        if (going?.has(keyString(r.entity, keyFromRow(r.entity, row)))) continue;
        restricted.push({ entity: r.entity.name, field: r.field, referenced: String(row.__ref), rootIndex: r.ids.get(String(row.__ref))! });
      }
    }
  }
  return { cascaded, restricted };
}

export async function deleteKeys(sql: Sql, entity: EntityDef, keys: readonly Key[]): Promise<void> {
  for (const chunk of chunks(keys, CHUNK_SIZE)) {
    const params: unknown[] = [];
    await sql.query(`DELETE FROM ${ident(entity.table)} WHERE ${keyCondition(entity, chunk, params)}`, params);
  }
}
