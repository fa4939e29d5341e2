import { ident, type Sql } from '../../db/sql';
import { defaultTranslation } from '../../definitions/sql/translated';
import type { EntityDef, IndexerDef } from '../../definitions/types';
import type { Key } from '../../write/keys';
import { lockNames } from '../../write/locks';
import { indexerLock, type Indexer } from '../types';
import { col, idsOf, keysetBatch, pkCol } from './common';

type TreeDef = Extract<IndexerDef, { type: 'tree' }>;

/**
 * A self-referencing tree (categories): path (ids of the ancestors, root first), level (root = 1), breadcrumb
 * (labels from the root) of each record and all its descendants; child counts of the parents, old and new.
 */
export function treeIndexer(entity: EntityDef, def: TreeDef): Indexer {
  const t = ident(entity.table);
  const id = pkCol(entity);
  const parent = col(entity, def.parent);
  const labelField = def.label ? entity.fields[def.label] : undefined;
  // A translated label: breadcrumbs show the default language's values.
  const labelTranslated = Boolean(labelField?.translated);
  return {
    name: def.name,
    entity,
    // A label written through the translation entity itself changes the breadcrumbs too.
    listens: [entity.name, ...(labelTranslated ? [entity.translation!.entity] : [])],
    contendedBy: [entity.name],
    // A record that moves or goes away changes its old parent's child count.
    readsBefore: (changed) => changed.name === entity.name,
    async before(sql, changed, keys) {
      if (changed.name !== entity.name || !keys.length) return [];
      const { rows } = await sql.query<{ p: string }>(
        `SELECT DISTINCT ${parent} AS p FROM ${t} WHERE ${id} = ANY($1::uuid[]) AND ${parent} IS NOT NULL`,
        [idsOf(entity, keys)],
      );
      return rows.map((r) => String(r.p));
    },
    async after(_sql, changed, keys: readonly Key[]) {
      if (labelTranslated && changed.name === entity.translation!.entity) return keys.map((k) => k[entity.translation!.ownerKey]!);
      return changed.name === entity.name ? idsOf(entity, keys) : [];
    },
    async index(sql: Sql, ids) {
      if (!ids.length) return;
      // Whoever recomputes this tree holds its lock (a sync that changed the tree took it when it began), then locks
      // every record it may rewrite in key order: a subtree's records and their parents are never locked piecemeal
      // in the order the recursive statements happen to reach them.
      await lockNames(sql, [{ name: indexerLock(def.name), mode: 'exclusive' }]);
      await sql.query(
        `WITH RECURSIVE down AS (SELECT ${id} AS id FROM ${t} WHERE ${id} = ANY($1::uuid[])
                                 UNION SELECT c.${id} FROM ${t} c JOIN down d ON c.${parent} = d.id)
         SELECT ${id} FROM ${t}
          WHERE ${id} IN (SELECT id FROM down) OR ${id} IN (SELECT ${parent} FROM ${t} WHERE ${id} = ANY($1::uuid[]))
          ORDER BY ${id} FOR NO KEY UPDATE`,
        [ids],
      );
      // Everything below the changed records is re-derived top-down from the nearest unchanged ancestor; the
      // recursive parts use UNION or a depth bound, so a cycle written by a client cannot make them loop. Only rows
      // whose derived values differ are written (an unchanged row keeps its version and stays out of the change feed).
      if (def.path || def.level) {
        const sets: string[] = [];
        const differs: string[] = [];
        if (def.path) {
          sets.push(`${col(entity, def.path)} = tree.path`);
          differs.push(`${t}.${col(entity, def.path)} IS DISTINCT FROM tree.path`);
        }
        if (def.level) {
          sets.push(`${col(entity, def.level)} = cardinality(tree.path) + 1`);
          differs.push(`${t}.${col(entity, def.level)} IS DISTINCT FROM cardinality(tree.path) + 1`);
        }
        await sql.query(
          `WITH RECURSIVE
             down AS (SELECT ${id} AS id, ${parent} AS parent FROM ${t} WHERE ${id} = ANY($1::uuid[])
                      UNION SELECT c.${id}, c.${parent} FROM ${t} c JOIN down d ON c.${parent} = d.id),
             top AS (SELECT id, parent FROM down WHERE parent IS NULL OR parent NOT IN (SELECT id FROM down)),
             up AS (SELECT top.id AS node, top.parent AS cur, 1 AS depth FROM top WHERE top.parent IS NOT NULL
                    UNION ALL SELECT up.node, p.${parent}, up.depth + 1 FROM up JOIN ${t} p ON p.${id} = up.cur
                    WHERE p.${parent} IS NOT NULL AND up.depth < 256),
             top_path AS (SELECT top.id, COALESCE((SELECT array_agg(up.cur ORDER BY up.depth DESC) FROM up WHERE up.node = top.id), '{}'::uuid[]) AS path FROM top),
             tree AS (SELECT id, path FROM top_path
                      UNION ALL SELECT c.${id}, tree.path || c.${parent} FROM ${t} c JOIN tree ON c.${parent} = tree.id
                      WHERE cardinality(tree.path) < 256)
           UPDATE ${t} SET ${sets.join(', ')}
           FROM tree WHERE ${t}.${id} = tree.id AND (${differs.join(' OR ')})`,
          [ids],
        );
      }
      if (def.breadcrumb && def.label && def.path) {
        const label = labelTranslated ? defaultTranslation(entity, labelField!, 'a') : `a.${col(entity, def.label)}`;
        const path = col(entity, def.path);
        const crumb = col(entity, def.breadcrumb);
        await sql.query(
          `WITH RECURSIVE down AS (SELECT ${id} AS id FROM ${t} WHERE ${id} = ANY($1::uuid[])
                                   UNION SELECT c.${id} FROM ${t} c JOIN down d ON c.${parent} = d.id),
           computed AS (SELECT n.${id} AS id,
                               (SELECT jsonb_agg(${label} ORDER BY p.ord)
                                  FROM unnest(COALESCE(n.${path}, '{}'::uuid[]) || n.${id}) WITH ORDINALITY AS p(id, ord)
                                  JOIN ${t} a ON a.${id} = p.id) AS crumb
                          FROM ${t} n WHERE n.${id} IN (SELECT id FROM down))
           UPDATE ${t} SET ${crumb} = computed.crumb FROM computed
           WHERE ${t}.${id} = computed.id AND ${t}.${crumb} IS DISTINCT FROM computed.crumb`,
          [ids],
        );
      }
      if (def.childCount) {
        const count = col(entity, def.childCount);
        await sql.query(
          `WITH computed AS (SELECT n.${id} AS id, (SELECT count(*)::int FROM ${t} c WHERE c.${parent} = n.${id}) AS n
                               FROM ${t} n
                              WHERE n.${id} = ANY($1::uuid[]) OR n.${id} IN (SELECT ${parent} FROM ${t} WHERE ${id} = ANY($1::uuid[])))
           UPDATE ${t} SET ${count} = computed.n FROM computed
           WHERE ${t}.${id} = computed.id AND ${t}.${count} IS DISTINCT FROM computed.n`,
          [ids],
        );
      }
    },
    batch: (sql, after, size) => keysetBatch(sql, entity, after, size),
  };
}
