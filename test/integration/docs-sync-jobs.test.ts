import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import request from 'supertest';
import { ROOT, startTestApp, type TestApp } from '../support/app';
import { fill } from '../support/doc-examples';

/**
 * docs/sync-jobs.md is the fixture: every ```sh block holding one curl command is sent as written (method, path,
 * headers, heredoc body) to a fresh database with a queue worker, in order, and its answer must equal the
 * ```json response <status> [header=value …] block after it. "…" in a documented answer stands for any value;
 * `$JOB` in a command is the id of the latest 202 answer. A job's answer is read again until it matches (the worker
 * runs it meanwhile).
 */
interface Example {
  line: number;
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: unknown;
  status: number;
  answerHeaders: Record<string, string>;
  response: unknown;
}

function readExamples(file: string): Example[] {
  const text = fs.readFileSync(file, 'utf8');
  const blocks = [...text.matchAll(/^```(sh|json response (\d+)([^\n]*))\n([\s\S]*?)^```/gm)];
  const out: Example[] = [];
  for (let i = 0; i < blocks.length; i++) {
    const b = blocks[i]!;
    const command = b[4]!;
    const curl = b[1] === 'sh' ? /^curl -s (?:-X (\w+) )?'?"?http:\/\/127\.0\.0\.1:8000([^\s'"]+)/.exec(command) : null;
    if (!curl) continue;
    const line = text.slice(0, b.index).split('\n').length;
    const next = blocks[i + 1];
    if (!next?.[2]) throw new Error(`${file}:${line}: a curl block needs a json response block after it`);
    const heredoc = /<<'EOF'\n([\s\S]*?)\nEOF/.exec(command);
    const headers: Record<string, string> = {};
    for (const m of command.matchAll(/-H '([^:']+):\s*([^']*)'/g)) headers[m[1]!.toLowerCase()] = m[2]!;
    const answerHeaders: Record<string, string> = {};
    for (const m of next[3]!.matchAll(/([\w-]+)=(\S+)/g)) answerHeaders[m[1]!.toLowerCase()] = m[2]!;
    out.push({
      line,
      method: (curl[1] as Example['method'] | undefined) ?? (heredoc ? 'POST' : 'GET'),
      path: curl[2]!,
      headers,
      body: heredoc ? JSON.parse(heredoc[1]!) : undefined,
      status: Number(next[2]),
      answerHeaders,
      response: JSON.parse(next[4]!),
    });
  }
  return out;
}

const examples = readExamples(path.join(ROOT, 'docs/sync-jobs.md'));

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await t.startWorker();
});
afterAll(() => t.close());

describe('docs/sync-jobs.md examples', () => {
  it('has examples of a dry run, an idempotent replay, a reused key, an async job, its cancel and its list', () => {
    const all = JSON.stringify(examples.map((e) => [e.headers, e.answerHeaders, e.method, e.path]));
    for (const s of ['"dry-run":"true"', '"idempotent-replayed":"true"', '"prefer":"respond-async"', '"DELETE"', '/api/_action/sync/jobs?limit=1']) expect(all).toContain(s);
    expect(examples.map((e) => e.status)).toEqual(expect.arrayContaining([200, 202, 400, 404, 409, 422]));
  });

  let job: string | undefined;
  // Sequential on purpose: each example builds on the state the previous ones left.
  it.each(examples.map((e) => [`line ${e.line}: ${e.method} ${e.path}`, e] as const))('%s answers as documented', async (_name, example) => {
    const url = example.path.replace('$JOB', job ?? '$JOB');
    const send = () => {
      const r = example.method === 'GET' ? request(t.app).get(url) : example.method === 'DELETE' ? request(t.app).delete(url) : request(t.app).post(url);
      r.set(example.headers);
      return example.body === undefined ? r : r.send(example.body as object);
    };
    const deadline = Date.now() + (url.startsWith('/api/_action/sync/jobs') && example.method === 'GET' ? 30_000 : 0);
    let res = await send();
    const matches = () => res.status === example.status && isDeepStrictEqual(res.body, fill(example.response, res.body));
    while (!matches() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      res = await send();
    }
    expect({ status: res.status, body: res.body }).toEqual({ status: example.status, body: fill(example.response, res.body) });
    for (const [name, value] of Object.entries(example.answerHeaders)) expect({ [name]: res.headers[name] }).toEqual({ [name]: value });
    if (res.status === 202) {
      job = res.body.id;
      expect(res.headers.location).toBe(`/api/_action/sync/jobs/${job}`);
    }
  });

  it('the key answered the same new id twice, and one tax of that name exists', async () => {
    expect(await t.knex('tax').where({ name: 'Reduced rate' }).select('id')).toHaveLength(1);
  });
});
