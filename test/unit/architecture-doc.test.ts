import fs from 'node:fs';
import path from 'node:path';

/**
 * docs/ARCHITECTURE.md follows one upsert through the code as `file` — `function` stops: every file it names must
 * exist, and every function named after a file must be declared in it (a rename that forgets the doc fails here).
 */
const ROOT = path.resolve(__dirname, '../..');
const doc = fs.readFileSync(path.join(ROOT, 'docs/ARCHITECTURE.md'), 'utf8');
const section = doc.slice(doc.indexOf('## The path of one upsert'));

const files = [...new Set([...doc.matchAll(/`(src\/[\w/.-]+\.ts)`/g)].map((m) => m[1]!))];
// A stop may wrap between its file and its functions: a line break counts as the space it replaces.
const stops = [...section.matchAll(/`(src\/[\w/.-]+\.ts)`\s+—\s+((?:`\w+`(?:,\s+)?)+)/g)].flatMap((m) => [...m[2]!.matchAll(/`(\w+)`/g)].map((n) => [m[1]!, n[1]!] as const));

describe('docs/ARCHITECTURE.md', () => {
  it('names stops on the upsert path', () => {
    expect(stops.length).toBeGreaterThanOrEqual(15);
  });

  it.each(files)('names %s, which exists', (file) => {
    expect(fs.existsSync(path.join(ROOT, file))).toBe(true);
  });

  it.each(stops)('finds %s — %s declared', (file, name) => {
    const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
    const declared = new RegExp(`^\\s*(export\\s+)?(private\\s+|public\\s+|static\\s+)?(async\\s+)?(function\\s*\\*?\\s+)?${name}\\s*[(<]`, 'm');
    expect({ file, name, declared: declared.test(text) }).toEqual({ file, name, declared: true });
  });
});
