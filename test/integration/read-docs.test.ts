import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import request from 'supertest';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { fill } from '../support/doc-examples';

/**
 * docs/read-api.md is the fixture: every ```sh block holding one curl command is sent as written (method, path,
 * heredoc body) to a fresh database, in order, and its answer must equal the ```json response <status> block
 * after it. In a documented answer, the string "…" stands for any value (timestamps, feed cursors). `$NEXT` in
 * a command is the `next` of the latest answer that had one, as a reader would copy it.
 */
interface Example {
  line: number;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  status: number;
  response: unknown;
}

function readExamples(file: string): Example[] {
  const text = fs.readFileSync(file, 'utf8');
  const blocks = [...text.matchAll(/^```(sh|json response (\d+))\n([\s\S]*?)^```/gm)];
  const out: Example[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    const curl = b[1] === 'sh' ? /^curl -s '?"?http:\/\/127\.0\.0\.1:8000([^\s'"]+)/.exec(b[3]!) : null;
    if (!curl) continue;
    const line = text.slice(0, b.index).split('\n').length;
    const next = blocks[i + 1];
    if (!next?.[2]) throw new Error(`${file}:${line}: a curl block needs a json response block after it`);
    const heredoc = /<<'EOF'\n([\s\S]*?)\nEOF/.exec(b[3]!);
    out.push({
      line,
      method: heredoc ? 'POST' : 'GET',
      path: curl[1]!,
      body: heredoc ? JSON.parse(heredoc[1]!) : undefined,
      status: Number(next[2]),
      response: JSON.parse(next[3]!),
    });
  }
  return out;
}

const guide = path.join(ROOT, 'docs/read-api.md');
const examples = readExamples(guide);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('docs/read-api.md examples', () => {
  it('has examples of reading one record, search, the change feed and errors', () => {
    const paths = examples.map((e) => e.path).join(' ');
    expect(paths).toContain('/api/search/');
    expect(paths).toContain('/api/_action/changes');
    expect(examples.some((e) => e.method === 'GET' && /^\/api\/product\/[0-9a-f]{32}/.test(e.path))).toBe(true);
    expect(examples.some((e) => e.status >= 400)).toBe(true);
  });

  let next: string | undefined;
  // Sequential on purpose: each example builds on the state the previous ones left.
  it.each(examples.map((e) => [`line ${e.line}: ${e.method} ${e.path}`, e] as const))('%s answers as documented', async (_name, example) => {
    const url = example.path.replace('$NEXT', next ?? '$NEXT');
    const send = () =>
      example.method === 'GET' ? request(t.app).get(url) : request(t.app).post(url).set('content-type', 'application/json').send(example.body as object);
    // The feed hands out a transaction's changes once every older transaction of the server has ended; another
    // test file's transaction may hold it back for a moment, so a feed example is read again until it matches.
    const deadline = Date.now() + (url.startsWith('/api/_action/changes') ? 20_000 : 0);
    let res = await send();
    const matches = () => res.status === example.status && isDeepStrictEqual(res.body, fill(example.response, res.body));
    while (!matches() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      res = await send();
    }
    expect({ status: res.status, body: res.body }).toEqual({ status: example.status, body: fill(example.response, res.body) });
    if (typeof res.body?.next === 'string') next = res.body.next;
  });
});
