import { ident, type Sql } from '../db/sql';
import { newDbId } from '../definitions/ids';
import { kindOf } from '../definitions/kinds';
import type { Problem } from '../errors';
import { CHUNK_SIZE, chunks } from '../write/keys';
import { PendingRef } from './pending';
import { refPointer } from './plan';
import type { UpsertCommand, UpsertRow } from './types';

/**
 * Resolves the pending keys of a command's rows and writes the ids into the rows. Candidates are tried in order
 * (externalId, then matchBy fields); each round costs one query per (entity, field). A record may be found among
 * the records written earlier in the request (the query sees this transaction's writes) or among the records of
 * this very command. Returns the rows that can be written; rows holding an unresolved reference are dropped, with
 * a problem.
 */
export async function resolveReferences(sql: Sql, cmd: UpsertCommand, problems: Problem[]): Promise<UpsertRow[]> {
  const open: PendingRef[] = [];
  const seen = new Set<PendingRef>();
  for (const row of cmd.rows) {
    for (const v of row.values.values()) {
      if (v instanceof PendingRef && !v.resolved && !v.failed && !seen.has(v)) {
        seen.add(v);
        open.push(v);
      }
    }
  }
  // Own keys first (records matched by externalId / matchBy, found or created), so that references to records of
  // this same command can then find them.
  await settle(sql, cmd, open.filter((p) => p.isOwnKey), problems);
  await settle(sql, cmd, open.filter((p) => !p.isOwnKey), problems);

  const out: UpsertRow[] = [];
  for (const row of cmd.rows) {
    let usable = true;
    for (const [f, v] of row.values) {
      if (!(v instanceof PendingRef)) continue;
      if (v.failed) usable = false;
      else row.values.set(f, v.id);
    }
    if (usable) out.push(row);
  }
  return out;
}

async function settle(sql: Sql, cmd: UpsertCommand, open: readonly PendingRef[], problems: Problem[]): Promise<void> {
  const rounds = Math.max(0, ...open.map((p) => p.candidates.length));
  for (let round = 0; round < rounds; round++) {
    const groups = new Map<string, PendingRef[]>();
    for (const p of open) {
      const c = p.candidates[round];
      if (p.resolved || !c) continue;
      const g = `${p.target.name}.${c.field.name}`;
      groups.set(g, [...(groups.get(g) ?? []), p]);
    }
    for (const refs of groups.values()) {
      const found = await lookup(sql, cmd, refs, round);
      for (const p of refs) {
        const id = found.get(String(p.candidates[round]!.value));
        if (id !== undefined) p.id = id;
      }
    }
  }
  // Not found: create (own key), null (nullOnMissing) or an error. Records matched by the same value share one new id.
  const created = new Map<string, string>();
  for (const p of open) {
    if (p.resolved) continue;
    if (p.nullOnMissing && p.isOwnKey) {
      const c = p.candidates[0]!;
      const k = `${p.target.name}.${c.field.name}=${String(c.value)}`;
      p.id = created.get(k) ?? newDbId();
      created.set(k, p.id);
    } else if (p.nullOnMissing) p.id = null;
    else {
      p.failed = true;
      const c = p.candidates[0]!;
      problems.push({
        code: 'REFERENCE_UNRESOLVED',
        detail: `${p.at}: no ${p.target.name} with ${c.field.name} ${JSON.stringify(c.value)}`,
        pointer: refPointer(p.ref, p.at),
        meta: { operation: p.ref.op, entity: cmd.entity.name, index: p.ref.index, resolver: `${p.target.name}.${c.field.name}` },
      });
    }
  }
}

/** value → id for one candidate field of one entity: records of this command first, then one query. */
async function lookup(sql: Sql, cmd: UpsertCommand, refs: readonly PendingRef[], round: number): Promise<Map<string, string>> {
  const target = refs[0]!.target;
  const field = refs[0]!.candidates[round]!.field;
  const pkField = target.fields[target.primaryKey[0]!]!;
  const found = new Map<string, string>();
  if (target.name === cmd.entity.name) {
    for (const row of cmd.rows) {
      const v = row.values.get(field.name);
      const own = row.values.get(pkField.name);
      const id = own instanceof PendingRef ? own.id : own;
      if (v != null && !(v instanceof PendingRef) && typeof id === 'string') found.set(String(v), id);
    }
  }
  const wanted = [...new Set(refs.map((r) => String(r.candidates[round]!.value)))].filter((v) => !found.has(v)).sort();
  for (const part of chunks(wanted, CHUNK_SIZE)) {
    const { rows } = await sql.query<{ id: string; v: unknown }>(
      `SELECT ${ident(pkField.column)} AS id, ${ident(field.column)} AS v FROM ${ident(target.table)} ` +
        `WHERE ${ident(field.column)} = ANY($1::${kindOf(field).paramType}[])`,
      [part],
    );
    for (const r of rows) found.set(String(r.v), String(r.id));
  }
  return found;
}
