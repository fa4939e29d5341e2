import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../support/app';
import { createTestDatabase } from '../support/database';
import { startServer, type ServerProcess } from '../support/reliability';

/**
 * docs/import.md from top to bottom, as a reader pastes it: every ```sh block in order, in one shell, in a folder of
 * its own (with the repository's examples/), against a fresh server. The first block (installing and starting the
 * server) is the one left out: the server is the test's child process, with the credentials the guide exports.
 */
const run = promisify(execFile);

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let server: ServerProcess;
let dir: string;

const guide = fs.readFileSync(path.join(ROOT, 'docs/import.md'), 'utf8');
const blocks = [...guide.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!);

beforeAll(async () => {
  const exported = Object.fromEntries([...blocks[0]!.matchAll(/(BULKSYNC_ADMIN_CLIENT_(?:ID|SECRET))=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  expect(Object.keys(exported).sort()).toEqual(['BULKSYNC_ADMIN_CLIENT_ID', 'BULKSYNC_ADMIN_CLIENT_SECRET']);
  db = await createTestDatabase();
  server = await startServer({ url: db.url, tokenSecret: 'import-guide-token-secret-of-32-chars!', env: exported });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulksync-guide-'));
  fs.symlinkSync(path.join(ROOT, 'examples'), path.join(dir, 'examples'));
}, 120_000);
afterAll(async () => {
  await server?.kill('SIGTERM');
  await db?.drop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

it('runs every shell block of docs/import.md after the server start, without an error', async () => {
  expect(blocks[0]).toContain('npm start');
  const script = blocks
    .slice(1)
    .join('\n')
    .replace(/127\.0\.0\.1:8000/g, `127.0.0.1:${server.port}`)
    // `npx bulksync` in the clone is this bin; the folder of the run is not the clone.
    .replace(/\bnpx bulksync\b/g, `${process.execPath} ${path.join(ROOT, 'bin/bulksync.js')}`);
  const { stdout, stderr } = await run('sh', ['-e', '-c', script], { cwd: dir, timeout: 120_000, env: { ...process.env, BULKSYNC_URL: '' } });
  expect(stderr).toContain('written 3, skipped 0, failed 0');
  expect(stderr).toMatch(/next cursor: \S+/);
  expect(stdout).toBe('');
  // What the guide's commands wrote: the exports, importable as is, with every language.
  const exported = fs.readFileSync(path.join(dir, 'products.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(exported).toHaveLength(3);
  expect(exported[0].translations.length).toBeGreaterThanOrEqual(1);
  expect(fs.readFileSync(path.join(dir, 'failed.csv'), 'utf8').trim()).toBe('line,column,field,code,message');
}, 180_000);
