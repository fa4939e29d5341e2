import { ident, type Sql } from '../db/sql';
import { newDbId } from '../definitions/ids';
import { kindOf } from '../definitions/kinds';
import { CHUNK_SIZE, chunks } from '../write/keys';
import type { Problem } from '../errors';
import { PendingRef } from './pending';
import { refPointer } from './plan';
import type { UpsertCommand, UpsertRow } from './types';

/**
 * Resolves the pending references of a command's rows, one query per (entity, field), and writes the ids into the
 * rows. A reference may name a record written earlier in the request (the query sees this transaction's writes) or
 * a record of this very command. Returns the rows that can be written; rows whose own key is unresolved are dropped
 * (with a problem).
 */
export async function resolveReferences(sql: Sql, cmd: UpsertCommand, problems: Problem[]): Promise<UpsertRow[]> {
  const open = new Set<PendingRef>();
  for (const row of cmd.rows) for (const v of row.values.values()) if (v instanceof PendingRef && !v.resolved && !v.failed) open.add(v);

  const groups = new Map<string, PendingRef[]>();
  for (const p of open) {
    const g = `${p.target.name}.${p.field.name}`;
    groups.set(g, [...(groups.get(g) ?? []), p]);
  }
  for (const refs of groups.values()) {
    const { target, field } = refs[0]!;
    const pkField = target.fields[target.primaryKey[0]!]!;
    const found = new Map<string, string>();
    // Records of this command that carry the value (a category naming its parent by externalId, both new).
    if (target.name === cmd.entity.name) {
      for (const row of cmd.rows) {
        const v = row.values.get(field.name);
        const id = row.values.get(pkField.name);
        if (v != null && typeof id === 'string') found.set(String(v), id);
      }
    }
    const wanted = [...new Set(refs.map((r) => String(r.value)))].filter((v) => !found.has(v)).sort();
    for (const part of chunks(wanted, CHUNK_SIZE)) {
      const { rows } = await sql.query<{ id: string; v: unknown }>(
        `SELECT ${ident(pkField.column)} AS id, ${ident(field.column)} AS v FROM ${ident(target.table)} WHERE ${ident(field.column)} = ANY($1::${kindOf(field).paramType}[])`,
        [part],
      );
      for (const r of rows) found.set(String(r.v), String(r.id));
    }
    for (const p of refs) {
      const id = found.get(String(p.value));
      if (id !== undefined) p.id = id;
      else if (p.nullOnMissing) p.id = p.isOwnKey ? newDbId() : null;
      else {
        p.failed = true;
        problems.push({
          code: 'REFERENCE_UNRESOLVED',
          detail: `${p.at}: no ${target.name} with ${field.name} ${JSON.stringify(p.value)}`,
          pointer: refPointer(p.ref, p.at),
          meta: { operation: p.ref.op, entity: cmd.entity.name, index: p.ref.index, resolver: `${target.name}.${field.name}` },
        });
      }
    }
  }

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
