import type { Sql } from '../../db/sql';
import type { Registry } from '../../definitions/registry';
import { toApiId } from '../../definitions/ids';
import type { Problem } from '../../errors';
import { lockExisting } from '../../write/lookups';
import { updateRows } from '../../write/upsert';
import { refPointer } from '../plan/plan';
import type { OperationState, RequestState } from './state';

/**
 * A record may name a record of its own operation that a later chunk writes (a category whose parent comes 20,000
 * records later). Its chunk wrote the reference as null; at the operation's end the references are checked again
 * and set, one statement per entity and field, or reported as FK_NOT_FOUND with the record's pointer.
 */
/** An operation at its end, with the request's keys, and whether its writes still count (nothing failed yet). */
export interface DeferredSettling {
  sql: Sql;
  registry: Registry;
  known: RequestState;
  op: OperationState;
  write: boolean;
}

export async function settleDeferredReferences({ sql, registry, known, op, write }: DeferredSettling): Promise<Problem[]> {
  const problems: Problem[] = [];
  const groups = new Map<string, OperationState['deferred']>();
  for (const d of op.deferred) {
    const g = `${d.entity.name}.${d.field.name}`;
    groups.set(g, [...(groups.get(g) ?? []), d]);
  }
  op.deferred = [];
  for (const refs of groups.values()) {
    const { entity, field } = refs[0]!;
    const target = registry.get(field.references!);
    const id = target.primaryKey[0]!;
    // Written by this request (a later chunk) or committed meanwhile: either is found here.
    const unknown = new Set(refs.map((d) => d.value).filter((v) => !known.keys.has(target.name, v)));
    const found = new Set((await lockExisting(sql, target, [...unknown].map((v) => ({ [id]: v })), 'reference')).map((r) => String(r.key[id])));
    const ok = refs.filter((d) => !unknown.has(d.value) || found.has(d.value));
    for (const d of refs) {
      if (!unknown.has(d.value) || found.has(d.value)) continue;
      problems.push({
        code: 'FK_NOT_FOUND',
        detail: `${field.name}: no ${target.name} with id ${toApiId(d.value)} in the database or in this operation`,
        pointer: refPointer(d.row.ref, field.name),
        meta: { operation: d.row.ref.op, entity: entity.name, index: d.row.ref.index },
      });
    }
    if (problems.length || !write) continue;
    const keys = ok.map((d) => d.key);
    await known.marks.before(sql, entity, keys);
    await updateRows(sql, entity, ok.map((d) => ({ key: d.key, values: new Map([[field.name, d.value]]) })));
    await known.marks.after(sql, entity, keys);
  }
  return problems;
}
