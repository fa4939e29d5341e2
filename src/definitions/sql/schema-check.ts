import type { Knex } from 'knex';
import { withConnection } from '../../db/sql';
import { kindOf } from '../kinds';
import type { Registry } from '../registry';

export class SchemaMismatchError extends Error {}

interface ColumnRow {
  table_name: string;
  column_name: string;
  udt_name: string;
  is_nullable: 'YES' | 'NO';
}

/**
 * Compares every definition with the database: each table exists, each field has a column of a compatible type,
 * and a field the API may set to null is not NOT NULL in the table. Returns one line per problem.
 */
export async function schemaProblems(knex: Knex, registry: Registry): Promise<string[]> {
  const { rows } = await withConnection(knex, (sql) =>
    sql.query<ColumnRow>(
      `SELECT table_name, column_name, udt_name, is_nullable
         FROM information_schema.columns WHERE table_schema = current_schema()`,
    ),
  );
  const tables = new Map<string, Map<string, ColumnRow>>();
  for (const r of rows) {
    const cols = tables.get(r.table_name) ?? new Map<string, ColumnRow>();
    cols.set(r.column_name, r);
    tables.set(r.table_name, cols);
  }
  const problems: string[] = [];
  for (const e of registry.all()) {
    const cols = tables.get(e.table);
    if (!cols) {
      problems.push(`entity ${e.name} (${e.file}): table "${e.table}" does not exist`);
      continue;
    }
    for (const f of e.fieldList) {
      // A translated field's column is in the translation table, checked as that entity's field.
      if (f.translated) continue;
      const where = `entity ${e.name}, field ${f.name}`;
      const table = f.sideTable?.table ?? e.table;
      const columns = f.sideTable ? tables.get(f.sideTable.table) : cols;
      if (!columns) {
        problems.push(`${where}: table "${table}" does not exist`);
        continue;
      }
      if (f.sideTable && columns.get(f.sideTable.key)?.udt_name !== 'uuid') {
        problems.push(`${where}: table "${table}" needs a uuid column "${f.sideTable.key}" holding the ${e.name}'s id`);
      }
      const col = columns.get(f.column);
      if (!col) {
        problems.push(`${where}: column "${table}.${f.column}" does not exist`);
        continue;
      }
      const kind = kindOf(f);
      if (!kind.udtNames.includes(col.udt_name)) {
        problems.push(
          `${where}: column "${table}.${f.column}" has type ${col.udt_name}, kind ${f.kind} needs one of ${kind.udtNames.join(', ')}`,
        );
      }
      if (f.nullable && !f.writeProtected && col.is_nullable === 'NO') {
        problems.push(`${where}: column "${e.table}.${f.column}" is NOT NULL but the field is optional (mark it required or give it a default)`);
      }
    }
  }
  return problems;
}

export async function assertSchemaMatches(knex: Knex, registry: Registry): Promise<void> {
  const problems = await schemaProblems(knex, registry);
  if (problems.length) {
    throw new SchemaMismatchError(`The entity definitions do not match the database:\n  ${problems.join('\n  ')}`);
  }
}

/** The check openDatabase runs after migrating: the tables must match these definitions. */
export function schemaCheck(registry: Registry): (knex: Knex) => Promise<void> {
  return (knex) => assertSchemaMatches(knex, registry);
}
