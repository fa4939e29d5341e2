import fs from 'node:fs';
import path from 'node:path';
import { configLimits, loadConfig } from '../../src/config';

/** README's configuration table: variable → the text of its row. */
function configTable(): Map<string, string> {
  const text = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
  const section = text.slice(text.indexOf('## Configuration'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const m = /^\| ((?:`[A-Z0-9_]+`(?: \/ )?)+) \|(.*)\|$/.exec(line);
    if (!m) continue;
    for (const name of m[1]!.matchAll(/`([A-Z0-9_]+)`/g)) rows.set(name[1]!, m[2]!);
  }
  return rows;
}

describe("README's configuration table", () => {
  const rows = configTable();

  it('lists every setting', () => {
    const names = Object.keys(loadConfig({}));
    const all = [...new Set([...names, ...Object.keys(configLimits())])];
    expect(all.filter((n) => !rows.has(n))).toEqual([]);
  });

  it('gives every minimum and maximum the schema enforces', () => {
    const missing: string[] = [];
    for (const [name, limit] of Object.entries(configLimits())) {
      const row = rows.get(name) ?? '';
      for (const [what, n] of Object.entries(limit)) {
        if (!new RegExp(`(^|[^\\d.,])${n}([^\\d.,]|$)`).test(row.replace(/`[^`]*`/g, (code) => (/^`\d/.test(code) ? '' : code)))) missing.push(`${name}: ${what} ${n}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
