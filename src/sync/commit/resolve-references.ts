import type { Sql } from '../../db/sql';
import { newDbId } from '../../definitions/ids';
import type { Problem } from '../../errors';
import { rowsMatching } from '../../write/lookups';
import { candidateKey, PendingRef, type MatchCandidate } from '../plan/pending';
import { refPointer } from '../plan/plan';
import type { UpsertCommand, UpsertRow } from '../types';

/**
 * Resolves the pending keys of a command's rows and writes the ids into the rows. Candidates are tried in order
 * (match keys such as externalId, then matchBy fields); each round costs one query per (entity, key). A record may be
 * found among the records written earlier in the request (the query sees this transaction's writes) or among the
 * records of this very command. Returns the rows that can be written; rows holding an unresolved reference are
 * dropped, with a problem.
 */
export async function resolveReferences(sql: Sql, cmd: UpsertCommand, problems: Problem[]): Promise<UpsertRow[]> {
  await settleReferences(sql, cmd, problems);
  const out: UpsertRow[] = [];
  for (const row of cmd.rows) {
    let usable = true;
    // Only values of names already set are replaced, which a Map (and FieldValues) allows while iterating.
    row.values.forEach((v, f, values) => {
      if (!(v instanceof PendingRef)) return;
      if (v.failed) usable = false;
      else values.set(f, v.id);
    });
    if (usable) out.push(row);
  }
  return out;
}

/**
 * The lookups of resolveReferences alone: each pending reference of the rows takes the id found (or made up, or
 * null), or fails with a problem; the rows stay as they are (see ResolvedValues for reading them resolved).
 */
export async function settleReferences(sql: Sql, cmd: UpsertCommand, problems: Problem[]): Promise<void> {
  const open: PendingRef[] = [];
  const seen = new Set<PendingRef>();
  // forEach: no iterator per row (a command of records matched by externalId has a pending key in every row).
  const gather = (v: unknown) => {
    if (v instanceof PendingRef && !v.resolved && !v.failed && !seen.has(v)) {
      seen.add(v);
      open.push(v);
    }
  };
  for (const row of cmd.rows) row.values.forEach(gather);
  // Own keys first (records matched by a match key, found or created), so that references to records of this same
  // command can then find them.
  await settle(sql, cmd, open.filter((p) => p.isOwnKey), problems);
  await settle(sql, cmd, open.filter((p) => !p.isOwnKey), problems);
}

/** Whether a row holds a reference that failed (it is not written). */
export function holdsFailed(row: UpsertRow): boolean {
  let failed = false;
  row.values.forEach((v) => {
    if (v instanceof PendingRef && v.failed) failed = true;
  });
  return failed;
}

const keyName = (c: MatchCandidate) => c.fields.map((f) => f.name).join('+');

async function settle(sql: Sql, cmd: UpsertCommand, open: readonly PendingRef[], problems: Problem[]): Promise<void> {
  // A loop, not Math.max(...list): spreading one argument per reference overflows the stack past ~100,000.
  let rounds = 0;
  for (const p of open) if (p.candidates.length > rounds) rounds = p.candidates.length;
  for (let round = 0; round < rounds; round++) {
    const groups = new Map<string, PendingRef[]>();
    for (const p of open) {
      const c = p.candidates[round];
      if (p.resolved || !c) continue;
      const g = `${p.target.name}.${keyName(c)}`;
      const group = groups.get(g);
      if (group) group.push(p);
      else groups.set(g, [p]);
    }
    for (const refs of groups.values()) {
      const found = await lookup(sql, cmd, refs, round);
      for (const p of refs) {
        const c = p.candidates[round]!;
        const k = candidateKey(c);
        const id = k === undefined ? undefined : found.get(k);
        const n = k === undefined ? 0 : (found.counts.get(k) ?? 0);
        if (c.ambiguous && n > 1) p.matches = n;
        else if (id !== undefined) p.id = id;
      }
    }
  }
  // Not found: create (own key), null (nullOnMissing) or an error. Records matched by the same values share one new id.
  const created = new Map<string, string>();
  for (const p of open) {
    if (p.resolved) continue;
    const c = p.candidates[0]!;
    if (p.matches !== undefined) {
      p.failed = true;
      problems.push({
        code: 'REFERENCE_UNRESOLVED',
        detail: `${p.at}: ${p.matches} ${p.target.name} records have ${c.fields.map((f) => f.name).join(' + ')} ${JSON.stringify(c.values[0])}; ${p.resolverName ?? 'the resolver'} needs exactly one`,
        pointer: refPointer(p.ref, p.at),
        meta: { operation: p.ref.op, entity: cmd.entity.name, index: p.ref.index, resolver: p.resolverName ?? `${p.target.name}.${keyName(c)}`, matches: p.matches },
      });
    } else if (p.nullOnMissing && p.isOwnKey) {
      // A value and a still unresolved candidate's token never meet (a value may be any string).
      const value = candidateKey(c);
      const k = `${p.target.name}.${keyName(c)}${value === undefined ? `#${p.token}` : `=${value}`}`;
      p.id = created.get(k) ?? newDbId();
      p.created = true;
      created.set(k, p.id);
    } else if (p.nullOnMissing) p.id = null;
    else {
      p.failed = true;
      const shown = c.values.length === 1 ? JSON.stringify(c.values[0]) : (candidateKey(c) ?? 'an unresolved reference');
      problems.push({
        code: 'REFERENCE_UNRESOLVED',
        detail: `${p.at}: no ${p.target.name} with ${c.fields.map((f) => f.name).join(' + ')} ${shown}`,
        pointer: refPointer(p.ref, p.at),
        meta: { operation: p.ref.op, entity: cmd.entity.name, index: p.ref.index, resolver: `${p.target.name}.${keyName(c)}` },
      });
    }
  }
}

/** candidate key → id for one key of one entity: records of this command first, then one query. */
async function lookup(sql: Sql, cmd: UpsertCommand, refs: readonly PendingRef[], round: number): Promise<Map<string, string> & { counts: Map<string, number> }> {
  const target = refs[0]!.target;
  const fields = refs[0]!.candidates[round]!.fields;
  const pkField = target.fields[target.primaryKey[0]!]!;
  // Records found per candidate key: more than one only for a resolver by a non-unique field (tax.taxRate).
  const found = Object.assign(new Map<string, string>(), { counts: new Map<string, number>() });
  if (target.name === cmd.entity.name) {
    for (const row of cmd.rows) {
      const own = row.values.get(pkField.name);
      const id = own instanceof PendingRef ? own.id : own;
      const k = candidateKey({ fields, values: fields.map((f) => row.values.get(f.name)) });
      if (k !== undefined && typeof id === 'string' && fields.every((f) => row.values.get(f.name) != null)) found.set(k, id);
    }
  }
  const wanted = new Map<string, unknown[]>();
  for (const r of refs) {
    const c = r.candidates[round]!;
    const k = candidateKey(c);
    if (k === undefined || found.has(k) || wanted.has(k)) continue;
    wanted.set(k, c.values.map((v) => (v instanceof PendingRef ? v.id : v)));
  }
  for (const row of await rowsMatching(sql, target, fields, [...wanted.values()])) {
    const k = candidateKey({ fields, values: row.values });
    if (k === undefined) continue;
    found.set(k, String(row.key[pkField.name]));
    found.counts.set(k, (found.counts.get(k) ?? 0) + 1);
  }
  return found;
}
