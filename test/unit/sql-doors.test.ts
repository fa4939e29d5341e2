import fs from 'node:fs';
import path from 'node:path';

/**
 * One door to PostgreSQL per room: SQL text lives only in db/, write/, a room's store.ts or its sql/ folder. This
 * reads every module of src/ (comments left out) and names each other place that holds SQL text.
 */
const SRC = path.resolve(__dirname, '../../src');
const DOORS = /^(db|write)\/|(^|\/)store\.ts$|(^|\/)sql\//;
/** Statements as SQL text spells them; `SAVEPOINT` only with its name after it (not a constant called so). */
const SQL_TEXT = /\b(SELECT\s+[\w*("$]|INSERT INTO|DELETE FROM|UPDATE\s+[\w."]+\s+SET|SAVEPOINT\s+[\w"$])/;

function modules(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? modules(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

/** The code without its comments (a `//` after a colon is a URL, not a comment). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

describe('SQL text', () => {
  it('is found by the pattern where it is (the check is not blind)', () => {
    expect(code(fs.readFileSync(path.join(SRC, 'queue/store.ts'), 'utf8'))).toMatch(SQL_TEXT);
    expect('`SELECT ${columns} FROM t`').toMatch(SQL_TEXT);
    expect('await savepoints.begin(sql, SAVEPOINT);').not.toMatch(SQL_TEXT);
    expect(code('const SAVEPOINT = "x"; // SELECT * FROM t')).not.toMatch(SQL_TEXT);
  });

  it('appears only in db/, write/, a store.ts or a sql/ folder', () => {
    const outside = modules(SRC)
      .map((f) => path.relative(SRC, f).split(path.sep).join('/'))
      .filter((rel) => !DOORS.test(rel))
      .filter((rel) => SQL_TEXT.test(code(fs.readFileSync(path.join(SRC, rel), 'utf8'))));
    expect(outside).toEqual([]);
  });
});
