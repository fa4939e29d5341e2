import type { Sql } from '../../db/sql';
import { toDbId } from '../../definitions/ids';
import { touchRows } from '../../write/upsert';
import type { Registry } from '../../definitions/registry';
import type { EntityDef } from '../../definitions/types';
import type { ApiKey, SyncResult } from '../result';

/** Entity → the field of its rows that names the record they belong to, and that record's entity. */
interface Owned {
  owner: string;
  field: string;
}

const ownedCache = new WeakMap<Registry, Map<string, Owned | null>>();

/**
 * A translation row belongs to its record; a link row (a mapping entity) to the record whose association it is.
 * Others belong to no other record.
 */
function ownedBy(registry: Registry, entity: string): Owned | undefined {
  let cache = ownedCache.get(registry);
  if (!cache) ownedCache.set(registry, (cache = new Map()));
  let found = cache.get(entity);
  if (found === undefined) {
    found = null;
    const def = registry.get(entity);
    if (def.translates) found = { owner: def.translates, field: registry.get(def.translates).translation!.ownerKey };
    else if (def.isMapping) {
      for (const e of registry.all()) {
        for (const a of Object.values(e.associations)) if (a.type === 'manyToMany' && a.mapping === entity) found = { owner: e.name, field: a.localKey };
        if (found) break;
      }
    }
    cache.set(entity, found);
  }
  return found ?? undefined;
}

/**
 * A key as one string, to compare keys of one result: an id, or a composite key's values in their (fixed) order.
 * Runs for every translation row of a chunk; JSON.stringify cost several times more.
 */
function idOf(k: ApiKey): string {
  if (typeof k === 'string') return k;
  let s = '';
  for (const f in k) s += k[f] + '\u0000';
  return s;
}

/**
 * A record is unchanged only when its own row, its translation rows and its links are: a record whose row is stored
 * as sent but whose German name changed was written (its event and its indexing follow). Works on one chunk's
 * result, where a record and the rows that belong to it are planned together.
 */
export function settleUnchanged(registry: Registry, result: SyncResult): void {
  if (!result.unchanged.size) return;
  for (const [entity, keys] of result.data) {
    const owned = ownedBy(registry, entity);
    if (!owned || !result.unchanged.has(owned.owner)) continue;
    const unchanged = result.unchanged.get(entity) ?? [];
    // Every row of the entity unchanged (a catalog sent again): no record has a changed one.
    if (unchanged.length === keys.length) continue;
    const same = new Set(unchanged.map(idOf));
    const touched = new Set<string>();
    for (const k of keys) if (typeof k !== 'string' && !same.has(idOf(k)) && k[owned.field] !== undefined) touched.add(k[owned.field]!);
    if (touched.size) result.forget('unchanged', registry.get(owned.owner) satisfies EntityDef, touched);
  }
}

/** Keys of a result map that were written: listed under `data` (or `deleted`) and not under `unchanged`. */
function writtenIds(result: SyncResult, entity: string): ApiKey[] {
  const data = result.data.get(entity) ?? [];
  const deleted = result.deleted.get(entity) ?? [];
  const unchanged = result.unchanged.get(entity);
  // The usual chunk (inserted or changed records) has nothing unchanged: nothing to take out.
  if (!unchanged?.length) return deleted.length ? [...data, ...deleted] : data;
  // Every listed row unchanged (a catalog sent again): no set of them to build.
  if (unchanged.length === data.length) return deleted;
  const same = new Set(unchanged.map(idOf));
  return [...data.filter((k) => !same.has(idOf(k))), ...deleted];
}

/**
 * The records whose translation rows this chunk wrote or removed while their own row stayed as it was: their
 * version must still change (a record's version covers its translations), so their row is touched. Records whose
 * row was written or deleted are left out. Links (mapping rows) are records of their own and touch nothing: a link
 * belongs to both records it joins, and locking a category for every product linked to it would make every
 * import of products contend on their categories. Read before settleUnchanged changes the lists.
 */
export function ownersToTouch(registry: Registry, result: SyncResult): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const entity of new Set([...result.data.keys(), ...result.deleted.keys()])) {
    const owned = ownedBy(registry, entity);
    if (!owned || !registry.get(entity).translates) continue;
    const done = new Set(writtenIds(result, owned.owner).map(idOf));
    for (const k of writtenIds(result, entity)) {
      const owner = typeof k === 'string' ? undefined : k[owned.field];
      if (owner === undefined || done.has(owner) || result.touched.has(`${owned.owner}\u0000${owner}`)) continue;
      const ids = out.get(owned.owner) ?? new Set<string>();
      ids.add(owner);
      out.set(owned.owner, ids);
    }
  }
  return out;
}

/**
 * Gives the records ownersToTouch finds a new version (their rows locked in key order, entity by entity) and notes
 * them in the result. Without `wait` (the happy path, whose chunk did not lock those rows first) a row another
 * transaction holds makes it answer false, before anything is written: waiting there, after the translation rows
 * were locked, is how two requests deadlock; the caller runs the chunk on the careful path instead, which locks every
 * stored record of the chunk up front.
 */
export async function touchOwners(sql: Sql, registry: Registry, result: SyncResult, wait = true): Promise<boolean> {
  for (const [entity, ids] of ownersToTouch(registry, result)) {
    if (!(await touchRows(sql, registry.get(entity), [...ids].map(toDbId), wait))) return false;
    for (const id of ids) result.touched.add(`${entity}\u0000${id}`);
  }
  return true;
}
