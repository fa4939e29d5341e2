import { ident } from '../../db/sql';
import type { Registry } from '../../definitions/registry';
import type { EntityDef, IndexerDef } from '../../definitions/types';
import type { Indexer } from '../types';
import { col, idsOf, keysetBatch, lockAndIndex, pkCol } from './common';

type AncestorsDef = Extract<IndexerDef, { type: 'ancestors' }>;

/**
 * The ids of the records an entity is linked to through a many-to-many association, and of all their ancestors
 * (a product's categories and their parents). Computed from the parent links themselves, not from the tree
 * indexer's paths, so that the two may run in any order or in parallel.
 *
 * A record linked to nothing has no tree: null, as Shopware's product.categoryTree. So a write of the record itself
 * never changes its tree (only its links and the linked records' parents do), and the indexer does not listen to
 * it: an import of products whose categories stay as they are costs it nothing.
 */
export function ancestorsIndexer(entity: EntityDef, def: AncestorsDef, registry: Registry): Indexer {
  const assoc = entity.associations[def.association]!;
  if (assoc.type !== 'manyToMany') throw new Error(`${def.name}: ${def.association} is not many-to-many`);
  const mapping = registry.get(assoc.mapping);
  const target = registry.get(assoc.entity);
  const m = ident(mapping.table);
  const mLocal = col(mapping, assoc.localKey);
  const mTarget = col(mapping, assoc.targetKey);
  const t = ident(target.table);
  const tId = pkCol(target);
  const tParent = col(target, def.parent);
  const e = ident(entity.table);
  const eId = pkCol(entity);
  return {
    name: def.name,
    entity,
    listens: [mapping.name, target.name],
    contendedBy: [target.name],
    before: async () => [],
    async after(sql, changed, keys) {
      if (!keys.length) return [];
      if (changed.name === mapping.name) return [...new Set(keys.map((k) => k[assoc.localKey]!))];
      // A target record that moved changes the trees of everything linked to it or below it.
      const { rows } = await sql.query<{ id: string }>(
        `WITH RECURSIVE d AS (SELECT ${tId} AS id FROM ${t} WHERE ${tId} = ANY($1::uuid[])
                              UNION SELECT c.${tId} FROM ${t} c JOIN d ON c.${tParent} = d.id)
         SELECT DISTINCT ${mLocal} AS id FROM ${m} WHERE ${mTarget} IN (SELECT id FROM d)`,
        [idsOf(target, keys)],
      );
      return rows.map((r) => String(r.id));
    },
    // Rows whose tree did not change are not rewritten. The trees are grouped once, not looked up per record (that
    // was quadratic: 20,000 products took minutes).
    async index(sql, ids) {
      if (!ids.length) return;
      await lockAndIndex(sql, {
        entity,
        ids,
        recompute: (list) => `WITH RECURSIVE anc AS (SELECT ${mLocal} AS owner, ${mTarget} AS id FROM ${m} WHERE ${mLocal} = ANY(${list})
                                UNION SELECT anc.owner, t.${tParent} FROM anc JOIN ${t} t ON t.${tId} = anc.id WHERE t.${tParent} IS NOT NULL)
         , trees AS (SELECT owner, array_agg(DISTINCT id ORDER BY id) AS tree FROM anc GROUP BY owner)
         , computed AS (SELECT u.id, trees.tree FROM unnest(${list}) AS u(id) LEFT JOIN trees ON trees.owner = u.id)
         UPDATE ${e} SET ${col(entity, def.target)} = computed.tree FROM computed
         WHERE ${e}.${eId} = computed.id AND ${e}.${col(entity, def.target)} IS DISTINCT FROM computed.tree`,
      });
    },
    batch: (sql, after, size) => keysetBatch(sql, entity, after, size),
  };
}
