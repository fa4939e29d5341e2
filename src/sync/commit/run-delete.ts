import { toApiId } from '../../definitions/ids';
import { pointer, type Problem } from '../../errors';
import type { CommandOutcome } from './run-upsert';
import { classifyDbError } from '../../write/db-errors';
import { deleteKeys, lockMatching, planCascade } from '../../write/delete';
import { lockExisting } from '../../write/lookups';
import { keyString, type Key } from '../../write/keys';
import { updateRows } from '../../write/upsert';
import { versionConflict } from './version-conflict';
import type { CommandRun } from './state';
import type { EntityDef } from '../../definitions/types';
import type { DeleteByCriteriaCommand, DeleteByKeysCommand, MissingCommand } from '../types';

/** A delete by keys or by criteria: missing keys to notFound, delete rules checked, cascades reported. */
export async function runDelete(run: CommandRun, cmd: DeleteByKeysCommand | DeleteByCriteriaCommand): Promise<CommandOutcome> {
  const { sql, result } = run;
  const { entity } = cmd;
  let roots: { key: Key; index: number }[];
  if (cmd.kind === 'delete') {
    const found = new Map((await lockExisting(sql, entity, cmd.keys.map((k) => k.key), 'delete')).map((r) => [keyString(entity, r.key), r.version]));
    const missing: Key[] = [];
    const seen = new Set<string>();
    roots = [];
    for (const { key, ref, version } of cmd.keys) {
      const ks = keyString(entity, key);
      // A _version the stored record no longer has (or a record gone): this delete was meant for what the client
      // read, which is not there any more. Checked under the delete lock, so it holds until commit.
      if (version !== undefined && found.get(ks) !== version) {
        run.problems.push(versionConflict({ entity, ref, sent: version, stored: found.get(ks) ?? null, deleting: true }));
        continue;
      }
      if (seen.has(ks)) continue;
      seen.add(ks);
      if (found.has(ks)) roots.push({ key, index: ref.index });
      else missing.push(key);
    }
    result.add('notFound', entity, missing);
  } else {
    roots = (await lockMatching(sql, entity, cmd.filters)).map((key) => ({ key, index: -1 }));
  }
  const at = (index: number) => (index >= 0 ? pointer(cmd.op, index) : pointer(cmd.op, 'criteria'));
  return deleteWithRules(run, { op: cmd.op, entity, roots, at });
}

/** What a delete takes: its operation, entity, the records to delete (with their payload index), and their pointers. */
interface DeleteTarget {
  op: string;
  entity: EntityDef;
  roots: { key: Key; index: number }[];
  at: (index: number) => string;
}

/** Deletes roots after checking the delete rules: restrict → FK_RESTRICT per blocked root, cascades reported. */
async function deleteWithRules(run: CommandRun, { op, entity, roots, at }: DeleteTarget): Promise<CommandOutcome> {
  const { sql, registry, known: state, result, problems, writable } = run;
  if (!roots.length) return 'ok';
  const cascade = await planCascade(sql, registry, entity, roots);
  // One error per blocked record and referencing field, however many records hold the reference.
  const blocked = new Map<string, { r: (typeof cascade.restricted)[number]; count: number }>();
  for (const r of cascade.restricted) {
    const k = `${r.rootIndex}|${r.referenced}|${r.entity}.${r.field}`;
    const b = blocked.get(k);
    if (b) b.count++;
    else blocked.set(k, { r, count: 1 });
  }
  for (const { r, count } of blocked.values()) {
    problems.push({
      code: 'FK_RESTRICT',
      detail: `${entity.name} ${toApiId(r.referenced)} is still referenced by ${count === 1 ? 'a' : `${count}${count >= 1000 ? '+' : ''}`} ${r.entity} record${count === 1 ? '' : 's'} (${r.entity}.${r.field}, delete rule restrict); delete or re-point those records first`,
      pointer: at(r.rootIndex),
      meta: { operation: op, entity: entity.name, ...(r.rootIndex >= 0 ? { index: r.rootIndex } : {}), referencedBy: r.entity },
    });
  }
  if (cascade.restricted.length || problems.length || !writable) return 'ok';
  const gone: [string, Key[]][] = [[entity.name, roots.map((r) => r.key)], ...cascade.cascaded];
  for (const [name, keys] of gone) await state.marks.before(sql, registry.get(name), keys);
  try {
    await deleteKeys(sql, entity, roots.map((r) => r.key));
  } catch (e) {
    const fault = classifyDbError(e, 'delete');
    if (!fault) throw e;
    problems.push({ code: fault.code, detail: fault.detail, pointer: pointer(op), meta: { operation: op, entity: entity.name, unattributed: true } });
    return 'aborted';
  }
  for (const [name, keys] of gone) await state.marks.after(sql, registry.get(name), keys);
  result.add('deleted', entity, roots.map((r) => r.key));
  for (const [name, keys] of cascade.cascaded) result.add('deleted', registry.get(name), keys);
  return 'ok';
}

/**
 * The clear guard: a snapshot that would clear more of its scope than allowed (an empty or cut-off feed blanking a
 * catalog) is refused, and nothing of the request is written. `missing.force` turns it off.
 */
function guardRefuses(cmd: MissingCommand, inside: number, clearing: number): Problem | undefined {
  const guard = cmd.guard;
  if (!guard || !clearing) return undefined;
  const ratio = clearing / inside;
  const overRecords = guard.maxRecords !== undefined && clearing > guard.maxRecords;
  if (!overRecords && ratio <= guard.maxRatio) return undefined;
  const limit = overRecords ? `more than maxRecords ${guard.maxRecords}` : `more than maxRatio ${guard.maxRatio} of them`;
  return {
    code: 'CLEAR_GUARD',
    detail: `the snapshot would ${cmd.delete ? 'delete' : 'clear'} ${clearing} of the ${inside} ${cmd.entity.name} records inside missing.within, ${limit}; nothing was written. If that is what you mean, send "force": true (or a higher maxRatio / maxRecords) in missing`,
    pointer: pointer(cmd.op, 'missing'),
    meta: { operation: cmd.op, entity: cmd.entity.name, inside, clearing },
  };
}

/** The snapshot clear: records inside `within` that the payload did not name get `set`, or are deleted. */
export async function runMissing(run: CommandRun, cmd: MissingCommand): Promise<CommandOutcome> {
  const { sql, known: state, op, result, problems } = run;
  const { entity } = cmd;
  const inside = await lockMatching(sql, entity, cmd.filters);
  const unnamed = inside.filter((k) => !op.named.has(keyString(entity, k)));
  const refused = guardRefuses(cmd, inside.length, unnamed.length);
  if (refused) {
    problems.push(refused);
    return 'ok';
  }
  if (cmd.delete) {
    const at = () => pointer(cmd.op, 'missing');
    return deleteWithRules({ ...run, writable: true }, { op: cmd.op, entity, roots: unnamed.map((key) => ({ key, index: -1 })), at });
  }
  await state.marks.before(sql, entity, unnamed);
  let cleared: number[];
  try {
    cleared = await updateRows(sql, entity, unnamed.map((key) => ({ key, values: cmd.set! })));
  } catch (e) {
    const fault = classifyDbError(e, 'write');
    if (!fault) throw e;
    // Name the field, not its column, and point at it when the database says which.
    const field = entity.fieldList.find((f) => f.column === fault.column);
    const detail = field ? fault.detail.replace(field.column, field.name) : fault.detail;
    const at = field && cmd.set!.has(field.name) ? pointer(cmd.op, 'missing', 'set', field.name) : pointer(cmd.op, 'missing', 'set');
    problems.push({ code: fault.code, detail, pointer: at, meta: { operation: cmd.op, entity: entity.name, unattributed: true } });
    return 'aborted';
  }
  // A record cleared by an earlier snapshot already holds `set`: it is listed, but not written again (no event).
  const changed = new Set(cleared);
  await state.marks.after(sql, entity, cleared.map((i) => unnamed[i]!));
  result.addWritten(entity, unnamed, (i) => !changed.has(i));
  return 'ok';
}
