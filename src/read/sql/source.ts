import type { Filter } from '../../criteria/types';
import { ident } from '../../db/sql';
import { readSource } from '../../definitions/sql/translated';
import { toDbId } from '../../definitions/ids';
import { DEFAULT_LANGUAGE_DB_ID } from '../../definitions/translations';
import type { EntityDef, FieldDef } from '../../definitions/types';

/** Every field a filter list names, nested ones included. */
export function filteredFields(filters: readonly Filter[]): Set<string> {
  const out = new Set<string>();
  const visit = (f: Filter) => ('queries' in f ? f.queries.forEach(visit) : out.add(f.field.name));
  filters.forEach(visit);
  return out;
}

/**
 * What a page's keys are found in: like readSource, a record with its translated fields as columns, but a
 * translated field no filter names is read by a subquery per record rather than by a join. A filter on a name
 * then still drives the plan from the translation table (its trigram or sort index), while a listing filtered by
 * something else and sorted by name looks up the names of the matching records only, instead of joining every
 * record's translation first (PostgreSQL's planner misjudges that join as cheaper by hash).
 */
export function keysSource(entity: EntityDef, language: string | undefined, filtered: ReadonlySet<string>): string {
  const tr = entity.translation;
  if (!tr || tr.fields.every((f) => filtered.has(f.name))) return readSource(entity, language);
  const own = ident(entity.fields[entity.primaryKey[0]!]!.column);
  const lang = toDbId(language ?? DEFAULT_LANGUAGE_DB_ID);
  const fallback = lang !== DEFAULT_LANGUAGE_DB_ID;
  const on = (alias: string, l: string) => `${alias}.${ident(tr.ownerColumn)} = b.${own} AND ${alias}.${ident(tr.languageColumn)} = '${l}'::uuid`;
  const joined = tr.fields.filter((f) => filtered.has(f.name));
  const one = (f: FieldDef, l: string) => `(SELECT x.${ident(f.column)} FROM ${ident(tr.table)} x WHERE ${on('x', l)})`;
  const columns = tr.fields.map((f) => {
    const c = ident(f.column);
    if (filtered.has(f.name)) return `${fallback ? `COALESCE(r.${c}, d.${c})` : `d.${c}`} AS ${c}`;
    return `${fallback ? `COALESCE(${one(f, lang)}, ${one(f, DEFAULT_LANGUAGE_DB_ID)})` : one(f, lang)} AS ${c}`;
  });
  let from = `${ident(entity.table)} b`;
  if (joined.length) {
    from += ` LEFT JOIN ${ident(tr.table)} d ON ${on('d', DEFAULT_LANGUAGE_DB_ID)}`;
    if (fallback) from += ` LEFT JOIN ${ident(tr.table)} r ON ${on('r', lang)}`;
  }
  return `(SELECT b.*, ${columns.join(', ')} FROM ${from})`;
}
