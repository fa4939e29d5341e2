import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The project's documents stand alone: every link and every file name in README.md and docs/ resolves inside the
 * repository, and no source, test or migration comment cites a Markdown file that is not in it.
 */

const ROOT = path.resolve(__dirname, '../..');
const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
const basenames = new Set(tracked.map((f) => path.basename(f)));
const exists = (p: string) => fs.existsSync(path.join(ROOT, p));

/** A name resolves if it is a file of the repository (by path from the document or the root, or by base name), or what the build makes of one. */
function resolves(name: string, fromDir: string): boolean {
  const candidates = [path.join(fromDir, name), name];
  if (candidates.some(exists) || basenames.has(path.basename(name))) return true;
  // dist/cli/worker.js, main.js: the compiled form of a source file.
  const source = name.replace(/^(\.bench\/)?dist\//, 'src/').replace(/\.js$/, '.ts');
  return exists(source) || basenames.has(path.basename(source));
}

const docs = ['README.md', ...tracked.filter((f) => f.startsWith('docs/') && f.endsWith('.md'))];
const FENCE = /^```[\s\S]*?^```/gm;
const NAME = /(?<![\w/.<>@-])([\w.-]+(?:\/[\w.-]+)*\.(?:md|json|ts|js|cjs|yaml|yml|csv|ndjson|sql))\b/g;

/** Files a document has the reader make: shown in a command (a fenced block or a command in inline code) or "save[d] as". */
function madeByReader(text: string, name: string): boolean {
  // A document is never the reader's to make: a Markdown name must be a file here.
  if (name.endsWith('.md')) return false;
  const commands = [...text.matchAll(FENCE)].map((m) => m[0]).concat([...text.matchAll(/`([^`]*\s[^`]*)`/g)].map((m) => m[1]!));
  return commands.some((c) => c.includes(name)) || new RegExp(`save[ds]? [^.]{0,40}${name.replace(/\./g, '\\.')}`).test(text);
}

describe('documents', () => {
  it.each(docs)('%s links only to files of the repository', (doc) => {
    const text = fs.readFileSync(path.join(ROOT, doc), 'utf8').replace(FENCE, '');
    const broken = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!.split('#')[0]!)
      .filter((target) => target && !/^[a-z]+:/.test(target) && !exists(path.join(path.dirname(doc), target)));
    expect(broken).toEqual([]);
  });

  it.each(docs)('%s names only files of the repository (or ones it has the reader make)', (doc) => {
    const whole = fs.readFileSync(path.join(ROOT, doc), 'utf8');
    // A bench record's list of the working tree's changes names files as they were at that commit.
    const prose = whole.replace(FENCE, '').replace(/^- git commit:.*$/gm, '');
    const unknown = [...prose.matchAll(NAME)].map((m) => m[1]!).filter((n) => !resolves(n, path.dirname(doc)) && !madeByReader(whole, n));
    expect([...new Set(unknown)]).toEqual([]);
  });

  it('source, test, bench and migration comments cite only Markdown files of the repository', () => {
    const code = tracked.filter((f) => /^(src|bin|test|bench|migrations|examples)\//.test(f) && /\.(ts|js|cjs)$/.test(f));
    const cited: string[] = [];
    for (const f of code) {
      const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
      for (const m of text.matchAll(/(?<![\w/.-])((?:\.\.?\/)*[\w.-]+(?:\/[\w.-]+)*\.md)\b/g)) {
        if (!resolves(m[1]!, path.dirname(f)) || m[1]!.includes('shared/')) cited.push(`${f}: ${m[1]}`);
      }
    }
    expect(cited).toEqual([]);
  });
});
