import type { Registry } from '../definitions/registry';
import type { IndexerDef } from '../definitions/types';
import { ancestorsIndexer } from './sql/ancestors';
import { searchIndexer } from './sql/search';
import { treeIndexer } from './sql/tree';
import type { Indexer } from './types';

/** Trees first: inline, the others then read fresh paths (they do not depend on them, but reads look saner). */
const ORDER: Record<IndexerDef['type'], number> = { tree: 0, ancestors: 1, search: 2 };

/** Every indexer the definitions declare, in run order, with lookups by name and by listened entity. */
export class IndexerSet {
  readonly all: readonly Indexer[];
  private readonly byName: ReadonlyMap<string, Indexer>;
  private readonly byEntity: ReadonlyMap<string, readonly Indexer[]>;

  /** Other names of indexers (another system's), and names of another system's indexers that are ignored. */
  private readonly aliases: ReadonlyMap<string, string>;
  private readonly ignored: ReadonlySet<string>;

  constructor(indexers: readonly Indexer[], names: { aliases?: ReadonlyMap<string, string>; ignored?: ReadonlySet<string> } = {}) {
    this.all = indexers;
    this.byName = new Map(indexers.map((i) => [i.name, i]));
    this.aliases = names.aliases ?? new Map();
    this.ignored = names.ignored ?? new Set();
    const byEntity = new Map<string, Indexer[]>();
    for (const ix of indexers) for (const e of ix.listens) byEntity.set(e, [...(byEntity.get(e) ?? []), ix]);
    this.byEntity = byEntity;
  }

  get(name: string): Indexer | undefined {
    return this.byName.get(name);
  }

  /** A name given in indexing-skip: an indexer (by its name or an alias), a known name ignored here, or unknown. */
  lookup(name: string): { indexer: Indexer } | { ignored: true } | undefined {
    const ix = this.byName.get(name) ?? this.byName.get(this.aliases.get(name) ?? '');
    if (ix) return { indexer: ix };
    return this.ignored.has(name) ? { ignored: true } : undefined;
  }

  names(): string[] {
    return this.all.map((i) => i.name);
  }

  listening(entity: string): readonly Indexer[] {
    return this.byEntity.get(entity) ?? [];
  }
}

export function buildIndexers(registry: Registry, extra: readonly Indexer[] = []): IndexerSet {
  const defs = registry.all().flatMap((e) => e.indexers.map((d) => ({ e, d })));
  defs.sort((a, b) => ORDER[a.d.type] - ORDER[b.d.type] || a.d.name.localeCompare(b.d.name));
  const built = defs.map(({ e, d }) => {
    if (d.type === 'tree') return treeIndexer(e, d);
    if (d.type === 'ancestors') return ancestorsIndexer(e, d, registry);
    return searchIndexer(e, d, registry);
  });
  const aliases = new Map<string, string>();
  for (const { d } of defs) for (const a of d.aliases ?? []) aliases.set(a, d.name);
  const ignored = new Set(registry.all().flatMap((e) => e.ignoredIndexers));
  return new IndexerSet([...built, ...extra], { aliases, ignored });
}
