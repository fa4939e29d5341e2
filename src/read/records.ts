import { kindOf } from '../definitions/kinds';
import { VERSION_COLUMNS, VERSION_FIELD, versionOf } from '../definitions/record-version';
import type { EntityDef } from '../definitions/types';
import type { ApiRecord, DbRow, Selection } from './types';

/** A loaded record: its row and, per loaded association, the related record(s). */
export interface RecordNode {
  row: DbRow;
  related: Map<string, RecordNode | RecordNode[] | null>;
}

/**
 * Columns to select for a selection: the answered fields, the primary key, and the foreign keys its many-to-one
 * associations follow (needed even when the fk itself is not answered).
 */
export function columnsFor(selection: Selection): string[] {
  const { entity } = selection;
  const cols = new Set<string>();
  for (const k of entity.primaryKey) cols.add(entity.fields[k]!.column);
  for (const f of selection.fields) cols.add(f.column);
  // Every record answers its _version, read from these (every entity table has them).
  for (const c of VERSION_COLUMNS) cols.add(c);
  for (const { association } of selection.associations.values()) {
    if (association.type === 'manyToOne') cols.add(entity.fields[association.via]!.column);
  }
  return [...cols];
}

/** The single-column primary key's column; associations other than many-to-one start from it. */
export function idColumn(entity: EntityDef): string {
  if (entity.primaryKey.length !== 1) throw new Error(`${entity.name} has a composite key and cannot own one-to-many or many-to-many associations`);
  return entity.fields[entity.primaryKey[0]!]!.column;
}

/** Row → API record: API field names, each value read back by its kind (ids as 32 hex), associations nested. */
export function toApiRecord(selection: Selection, node: RecordNode): ApiRecord {
  const out: ApiRecord = {};
  let translated: ApiRecord | undefined;
  for (const f of selection.fields) {
    const v = node.row[f.column];
    out[f.name] = v === null || v === undefined ? null : kindOf(f).fromDb(v);
    // Shopware's key: the translated values shown (in the request's language, or the default one's).
    if (f.translated) (translated ??= {})[f.name] = out[f.name];
  }
  if (translated) out.translated = translated;
  out[VERSION_FIELD] = versionOf(node.row.created_at, node.row.updated_at);
  for (const [name, { selection: sub }] of selection.associations) {
    const related = node.related.get(name);
    if (Array.isArray(related)) out[name] = related.map((r) => toApiRecord(sub, r));
    else out[name] = related ? toApiRecord(sub, related) : null;
  }
  const only = selection.includes;
  return only ? Object.fromEntries(Object.entries(out).filter(([k]) => only.has(k))) : out;
}

export function newNode(row: DbRow): RecordNode {
  return { row, related: new Map() };
}
