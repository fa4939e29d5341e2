import type { Knex } from 'knex';
import { toApiId } from '../ids';
import type { Registry } from '../registry';

/** The records of a small entity that json values reference (currencies of prices): ids and single-field resolvers. */
export interface LookupTable {
  /** Ids in the API spelling (32 hex). */
  ids: ReadonlySet<string>;
  /** Resolver name (`currency.isoCode`, its aliases too) → value as text → ids holding it. */
  byResolver: ReadonlyMap<string, ReadonlyMap<string, string[]>>;
}

export type Lookups = ReadonlyMap<string, LookupTable>;

/**
 * Reads, once per request, the entities that json fields reference through `itemReferences` (one query each; they
 * are small by design, like currencies), so that planning checks and resolves those ids without more round trips.
 */
export async function loadLookups(knex: Knex, registry: Registry): Promise<Lookups> {
  const targets = new Set<string>();
  for (const e of registry.all()) for (const f of e.fieldList) for (const t of Object.values(f.itemReferences ?? {})) targets.add(t);
  const out = new Map<string, LookupTable>();
  for (const name of [...targets].sort()) {
    const entity = registry.get(name);
    const idField = entity.fields[entity.primaryKey[0]!]!;
    const resolvers = registry.resolverNames().map((n) => registry.resolver(n)!).filter((r) => r.entity.name === name && r.fields.length === 1);
    const columns = [...new Set(resolvers.map((r) => r.fields[0]!.column))];
    const rows: Record<string, unknown>[] = await knex.select([`${idField.column} as __id`, ...columns]).from(entity.table);
    const byResolver = new Map<string, Map<string, string[]>>();
    for (const r of resolvers) {
      const m = new Map<string, string[]>();
      for (const row of rows) {
        const v = row[r.fields[0]!.column];
        if (v === null || v === undefined) continue;
        const k = String(v).trim();
        m.set(k, [...(m.get(k) ?? []), toApiId(String(row.__id))]);
      }
      byResolver.set(r.name, m);
    }
    out.set(name, { ids: new Set(rows.map((r) => toApiId(String(r.__id)))), byResolver });
  }
  return out;
}
