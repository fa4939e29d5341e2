import type { Sql } from '../db/sql';
import type { EntityDef } from '../definitions/types';
import type { Key } from '../write/keys';
import type { IndexerSet } from './registry';

/** Ids each indexer must recompute for this request, gathered while the request writes. */
export class IndexMarks {
  private readonly byIndexer = new Map<string, Set<string>>();

  constructor(private readonly indexers: IndexerSet, private readonly skip: ReadonlySet<string> = new Set()) {}

  private add(name: string, ids: readonly string[]): void {
    if (!ids.length) return;
    const s = this.byIndexer.get(name) ?? new Set<string>();
    for (const id of ids) s.add(id);
    this.byIndexer.set(name, s);
  }

  private active(entity: EntityDef) {
    return this.indexers.listening(entity.name).filter((ix) => !this.skip.has(ix.name));
  }

  /** Whether an indexer that takes this request's marks reads the old state of `entity`'s records. */
  readsBefore(entity: EntityDef): boolean {
    return this.active(entity).some((ix) => ix.readsBefore?.(entity) ?? false);
  }

  /** Before records of `entity` change or are deleted: what the old state makes stale. */
  async before(sql: Sql, entity: EntityDef, keys: readonly Key[]): Promise<void> {
    if (!keys.length) return;
    for (const ix of this.active(entity)) this.add(ix.name, await ix.before(sql, entity, keys));
  }

  /** After records of `entity` were written. */
  async after(sql: Sql, entity: EntityDef, keys: readonly Key[]): Promise<void> {
    if (!keys.length) return;
    for (const ix of this.active(entity)) this.add(ix.name, await ix.after(sql, entity, keys));
  }

  /** Indexer name → ids, in run order, for the indexers that have work. */
  pending(): [string, string[]][] {
    return this.indexers.all.filter((ix) => this.byIndexer.has(ix.name)).map((ix) => [ix.name, [...this.byIndexer.get(ix.name)!].sort()]);
  }

  clone(): IndexMarks {
    const c = new IndexMarks(this.indexers, this.skip);
    for (const [k, v] of this.byIndexer) c.byIndexer.set(k, new Set(v));
    return c;
  }

  adopt(other: IndexMarks): void {
    this.byIndexer.clear();
    for (const [k, v] of other.byIndexer) this.byIndexer.set(k, v);
  }
}
