import { arrayLiteral } from '../db/array-literal';
import { ident } from '../db/sql';
import { kindOf } from '../definitions/kinds';
import type { EntityDef } from '../definitions/types';

/** A primary key in database spelling, by API field name. */
export type Key = Readonly<Record<string, string>>;

export function keyString(entity: EntityDef, key: Key): string {
  const pk = entity.primaryKey;
  return pk.length === 1 ? key[pk[0]!]! : pk.map((k) => key[k]).join('|');
}

export function compareKeys(entity: EntityDef): (a: Key, b: Key) => number {
  if (entity.primaryKey.length === 1) {
    // The common case, sorted 100,000 times a request: no loop per comparison.
    const k = entity.primaryKey[0]!;
    return (a, b) => (a[k]! < b[k]! ? -1 : a[k]! > b[k]! ? 1 : 0);
  }
  return (a, b) => {
    for (const k of entity.primaryKey) {
      const x = a[k]!;
      const y = b[k]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  };
}

export function keyColumns(entity: EntityDef, alias = ''): string {
  return entity.primaryKey.map((k) => (alias ? alias + '.' : '') + ident(entity.fields[k]!.column)).join(', ');
}

/** `WHERE`-ready condition matching any of `keys`, one array parameter per key column. */
export function keyCondition(entity: EntityDef, keys: readonly Key[], params: unknown[], alias = ''): string {
  const arrays = entity.primaryKey.map((k) => {
    params.push(arrayLiteral(keys.map((key) => key[k]), kindOf(entity.fields[k]!).paramType));
    return `$${params.length}::${kindOf(entity.fields[k]!).sqlType}[]`;
  });
  if (arrays.length === 1) return `${keyColumns(entity, alias)} = ANY(${arrays[0]})`;
  return `(${keyColumns(entity, alias)}) IN (SELECT * FROM unnest(${arrays.join(', ')}))`;
}

/** Reads a key out of a result row whose columns are the key columns. */
export function keyFromRow(entity: EntityDef, row: Record<string, unknown>): Key {
  const key: Record<string, string> = {};
  for (const k of entity.primaryKey) key[k] = String(row[entity.fields[k]!.column]);
  return key;
}

export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Rows per set-based statement: large enough that 100,000 records take a handful of statements. */
export const CHUNK_SIZE = 10_000;
