import { kindOf } from '../definitions/kinds';
import type { EntityDef } from '../definitions/types';
import type { Key } from '../write/keys';

/** An id as the API writes it, or a key object for entities with a composite key. */
export type ApiKey = string | Record<string, string>;

export function apiKey(entity: EntityDef, key: Key): ApiKey {
  if (entity.primaryKey.length === 1) {
    const k = entity.primaryKey[0]!;
    return kindOf(entity.fields[k]!).fromDb(key[k]) as string;
  }
  const out: Record<string, string> = {};
  for (const k of entity.primaryKey) out[k] = kindOf(entity.fields[k]!).fromDb(key[k]) as string;
  return out;
}

type KeyMap = Map<string, ApiKey[]>;
type KeyMapName = 'data' | 'deleted' | 'notFound' | 'skipped' | 'unchanged';

/** What a sync did, per entity: written, deleted, not found, skipped; ids, or only counts (`Prefer: return=minimal`). */
export class SyncResult {
  readonly data: KeyMap = new Map();
  readonly deleted: KeyMap = new Map();
  readonly notFound: KeyMap = new Map();
  readonly skipped: KeyMap = new Map();
  /**
   * Records listed under `data` that were stored already as the request would write them: not written, so no
   * event, no change-feed entry, no indexing. Not in the full answer (Shopware's shape); counted with `minimal`.
   */
  readonly unchanged: KeyMap = new Map();
  private readonly counts: Record<KeyMapName, Map<string, number>> = { data: new Map(), deleted: new Map(), notFound: new Map(), skipped: new Map(), unchanged: new Map() };
  private withSkipped = false;
  /** Records ("entity\u0000id") whose row a chunk already gave a new version (see commit/unchanged.ts). */
  readonly touched = new Set<string>();

  /** `minimal`: counts only; a request of a million records does not keep a million ids to answer. */
  constructor(readonly minimal = false) {}

  /** The response carries `skipped` (possibly empty) once an operation used mode create-only. */
  reportSkipped(): void {
    this.withSkipped = true;
  }

  add(map: KeyMapName, entity: EntityDef, keys: readonly Key[]): void {
    if (!keys.length) return;
    this.counts[map].set(entity.name, (this.counts[map].get(entity.name) ?? 0) + keys.length);
    if (this.minimal) return;
    const list = this[map].get(entity.name) ?? [];
    for (const k of keys) list.push(apiKey(entity, k));
    this[map].set(entity.name, list);
  }

  /**
   * Lists written keys under `data` and those stored as sent (`unchanged(position)`) also under `unchanged`: each key
   * turned into its API spelling once, the same value in both lists (a catalog sent again lists every key twice).
   */
  addWritten(entity: EntityDef, keys: readonly Key[], unchanged: (position: number) => boolean): void {
    if (!keys.length) return;
    const listed: ApiKey[] | undefined = this.minimal ? undefined : (this.data.get(entity.name) ?? []);
    let same: ApiKey[] | undefined;
    let sameCount = 0;
    for (let i = 0; i < keys.length; i++) {
      const stored = unchanged(i);
      if (stored) sameCount++;
      if (!listed) continue;
      const k = apiKey(entity, keys[i]!);
      listed.push(k);
      if (stored) (same ??= this.unchanged.get(entity.name) ?? []).push(k);
    }
    this.counts.data.set(entity.name, (this.counts.data.get(entity.name) ?? 0) + keys.length);
    if (sameCount) this.counts.unchanged.set(entity.name, (this.counts.unchanged.get(entity.name) ?? 0) + sameCount);
    if (listed) this.data.set(entity.name, listed);
    if (same) this.unchanged.set(entity.name, same);
  }

  /** Takes keys (ids in the API spelling) of `entity` out of a map again, and out of its count. */
  forget(map: KeyMapName, entity: EntityDef, ids: ReadonlySet<string>): void {
    const list = this[map].get(entity.name);
    if (!list) return;
    const kept = list.filter((k) => typeof k !== 'string' || !ids.has(k));
    if (kept.length === list.length) return;
    this.counts[map].set(entity.name, (this.counts[map].get(entity.name) ?? 0) - (list.length - kept.length));
    if (kept.length) this[map].set(entity.name, kept);
    else {
      this[map].delete(entity.name);
      this.counts[map].delete(entity.name);
    }
  }

  /** Adds what another (committed) part of the request did. */
  merge(other: SyncResult): void {
    for (const name of ['data', 'deleted', 'notFound', 'skipped', 'unchanged'] as const) {
      for (const [entity, n] of other.counts[name]) this.counts[name].set(entity, (this.counts[name].get(entity) ?? 0) + n);
      if (this.minimal) continue;
      for (const [entity, keys] of other[name]) {
        const list = this[name].get(entity);
        if (list) for (const k of keys) list.push(k);
        else this[name].set(entity, [...keys]);
      }
    }
    this.withSkipped ||= other.withSkipped;
    for (const t of other.touched) this.touched.add(t);
  }

  count(map: KeyMapName): number {
    let n = 0;
    for (const c of this.counts[map].values()) n += c;
    return n;
  }

  /** Entity → number of keys, per map. */
  countsOf(map: KeyMapName): ReadonlyMap<string, number> {
    return this.counts[map];
  }

  toJSON(): Record<string, unknown> {
    if (this.minimal) {
      const counts = (m: Map<string, number>) => Object.fromEntries([...m.keys()].sort().map((k) => [k, m.get(k)!]));
      return {
        extensions: [],
        counts: {
          data: counts(this.counts.data),
          deleted: counts(this.counts.deleted),
          notFound: counts(this.counts.notFound),
          skipped: counts(this.counts.skipped),
          unchanged: counts(this.counts.unchanged),
        },
      };
    }
    return {
      extensions: [],
      data: render(this.data),
      notFound: render(this.notFound),
      deleted: render(this.deleted),
      ...(this.withSkipped ? { skipped: render(this.skipped) } : {}),
    };
  }
}

/** Entities keyed alphabetically; an empty map is an empty list, as Shopware sends it. */
function render(map: KeyMap): Record<string, ApiKey[]> | [] {
  if (!map.size) return [];
  const out: Record<string, ApiKey[]> = {};
  for (const name of [...map.keys()].sort()) out[name] = map.get(name)!;
  return out;
}
