import type { Knex } from 'knex';
import { withTransaction, type Sql } from '../db/sql';
import type { Registry } from '../definitions/registry';
import { toApiId } from '../definitions/ids';
import { ApiError, MAX_REPORTED_ERRORS, pointer, type Problem } from '../errors';
import { classifyDbError } from '../write/db-errors';
import { deleteKeys, lockExisting, lockMatching, planCascade } from '../write/delete';
import { keyString, type Key } from '../write/keys';
import { insertRows, updateRows } from '../write/upsert';
import { refPointer } from './plan';
import { RequestKeys, resolveUpsert, type ResolvedRow } from './resolve';
import { SyncResult } from './result';
import type { DeleteByCriteriaCommand, DeleteByKeysCommand, OperationPlan, UpsertCommand } from './types';

export interface ExecuteOptions {
  retries: number;
  onRetry?: (attempt: number, error: unknown) => void;
}

/**
 * Runs the planned operations in request order inside one transaction. Lookups of every command run even after
 * an earlier command failed, so that the response lists every problem; nothing is committed unless all pass.
 */
export async function executePlans(
  knex: Knex,
  registry: Registry,
  plans: readonly OperationPlan[],
  opts: ExecuteOptions,
): Promise<SyncResult> {
  return withTransaction(
    knex,
    async (sql) => {
      const result = new SyncResult();
      const problems: Problem[] = [];
      const known = new RequestKeys();
      for (const plan of plans) {
        for (const cmd of plan.commands) {
          if (problems.length >= MAX_REPORTED_ERRORS) break;
          if (cmd.kind === 'upsert') await runUpsert(sql, registry, cmd, known, result, problems);
          else await runDelete(sql, registry, cmd, result, problems);
        }
      }
      if (problems.length) throw new ApiError(problems);
      return result;
    },
    opts,
  );
}

async function runUpsert(
  sql: Sql,
  registry: Registry,
  cmd: UpsertCommand,
  known: RequestKeys,
  result: SyncResult,
  problems: Problem[],
): Promise<void> {
  const resolved = await resolveUpsert(sql, registry, cmd, known);
  if (resolved.problems.length || problems.length) {
    problems.push(...resolved.problems);
    return;
  }
  const toWrite = (r: ResolvedRow) => ({ key: r.key, values: r.row.values });
  try {
    await insertRows(sql, cmd.entity, resolved.rows.filter((r) => !r.exists).map(toWrite));
    await updateRows(sql, cmd.entity, resolved.rows.filter((r) => r.exists).map(toWrite));
  } catch (e) {
    throw dbProblem(e, cmd, resolved.rows);
  }
  const pk = new Set(cmd.entity.primaryKey);
  const reported = resolved.rows.filter(
    (r) => r.row.root || cmd.entity.isMapping || [...r.row.values.keys()].some((f) => !pk.has(f)),
  );
  result.add('data', cmd.entity, reported.map((r) => r.key));
}

/** A database error during a write, pinned to the first record carrying the offending value. */
function dbProblem(e: unknown, cmd: UpsertCommand, rows: readonly ResolvedRow[]): unknown {
  const fault = classifyDbError(e, 'write');
  if (!fault) return e;
  const field = cmd.entity.fieldList.find((f) => f.column === fault.column);
  const culprit =
    (field && rows.find((r) => fault.value !== undefined && String(r.row.values.get(field.name)) === fault.value)) ?? rows[0];
  return new ApiError({
    code: fault.code,
    detail: field ? fault.detail.replace(field.column, field.name) : fault.detail,
    pointer: culprit ? refPointer(culprit.row.ref, ...(field ? [field.name] : [])) : undefined,
    meta: { operation: cmd.op, entity: cmd.entity.name, index: culprit?.row.ref.index },
  });
}

async function runDelete(
  sql: Sql,
  registry: Registry,
  cmd: DeleteByKeysCommand | DeleteByCriteriaCommand,
  result: SyncResult,
  problems: Problem[],
): Promise<void> {
  const { entity } = cmd;
  let roots: { key: Key; index: number }[];
  const refs = cmd.kind === 'delete' ? cmd.keys.map((k) => k.ref) : [];
  if (cmd.kind === 'delete') {
    const found = new Set((await lockExisting(sql, entity, cmd.keys.map((k) => k.key))).map((k) => keyString(entity, k)));
    const missing: Key[] = [];
    const seen = new Set<string>();
    roots = [];
    cmd.keys.forEach(({ key }, index) => {
      const ks = keyString(entity, key);
      if (seen.has(ks)) return;
      seen.add(ks);
      if (found.has(ks)) roots.push({ key, index });
      else missing.push(key);
    });
    result.add('notFound', entity, missing);
  } else {
    roots = (await lockMatching(sql, entity, cmd.filters)).map((key, index) => ({ key, index }));
  }
  if (!roots.length) return;
  const cascade = await planCascade(sql, registry, entity, roots);
  for (const r of cascade.restricted) {
    const ref = refs[r.rootIndex];
    problems.push({
      code: 'FK_RESTRICT',
      detail: `${entity.name} ${toApiId(r.referenced)} is still referenced by ${r.entity}.${r.field} (delete rule restrict); delete or re-point those records first`,
      pointer: ref ? refPointer(ref) : pointer(cmd.op, 'criteria'),
      meta: { operation: cmd.op, entity: entity.name, ...(ref ? { index: ref.index } : {}), referencedBy: r.entity },
    });
  }
  if (cascade.restricted.length || problems.length) return;
  try {
    await deleteKeys(sql, entity, roots.map((r) => r.key));
  } catch (e) {
    const fault = classifyDbError(e, 'delete');
    if (!fault) throw e;
    throw new ApiError({ code: fault.code, detail: fault.detail, pointer: pointer(cmd.op), meta: { operation: cmd.op, entity: entity.name } });
  }
  result.add('deleted', entity, roots.map((r) => r.key));
  for (const [name, keys] of cascade.cascaded) result.add('deleted', registry.get(name), keys);
}
