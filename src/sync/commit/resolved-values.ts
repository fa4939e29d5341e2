import { FieldValues } from '../plan/field-values';
import { PendingRef } from '../plan/pending';

const resolvedValue = (v: unknown): unknown => (v instanceof PendingRef ? v.id : v);

/**
 * A planned row's values as one attempt resolved them: read through to the plan's values, each pending reference read
 * as the id it was resolved to (null where it may be and nothing was found). The plan keeps its pending references for
 * another attempt, and no row is copied for this one: records named by externalId or matchBy hold a pending key in
 * every row, and copying each row's values took about 650 of the 8,800 bytes the server allocated per such record.
 * The first change (two rows that turned out to name the same record, merged) gives the row values of its own.
 *
 * Read only once the attempt's references are settled: a reference still pending reads as undefined.
 */
export class ResolvedValues implements Map<string, unknown> {
  private own: FieldValues | undefined;

  constructor(private readonly planned: ReadonlyMap<string, unknown>) {}

  private get base(): ReadonlyMap<string, unknown> {
    return this.own ?? this.planned;
  }

  private mine(): FieldValues {
    if (!this.own) {
      const own = new FieldValues(this.planned.size + 2);
      this.planned.forEach((v, name) => own.set(name, resolvedValue(v)));
      this.own = own;
    }
    return this.own;
  }

  get size(): number {
    return this.base.size;
  }

  get(name: string): unknown {
    return resolvedValue(this.base.get(name));
  }

  has(name: string): boolean {
    return this.base.has(name);
  }

  set(name: string, value: unknown): this {
    this.mine().set(name, value);
    return this;
  }

  delete(name: string): boolean {
    return this.mine().delete(name);
  }

  clear(): void {
    this.mine().clear();
  }

  forEach(fn: (value: unknown, name: string, map: Map<string, unknown>) => void, thisArg?: unknown): void {
    this.base.forEach((v, name) => fn.call(thisArg, resolvedValue(v), name, this));
  }

  *entries(): MapIterator<[string, unknown]> {
    for (const [name, v] of this.base) yield [name, resolvedValue(v)];
  }

  keys(): MapIterator<string> {
    return this.base.keys();
  }

  *values(): MapIterator<unknown> {
    for (const v of this.base.values()) yield resolvedValue(v);
  }

  [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'ResolvedValues';
  }
}
