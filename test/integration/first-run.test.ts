import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ROOT } from '../support/app';
import { createTestDatabase } from '../support/database';
import { startServer, type ServerProcess } from '../support/reliability';

/**
 * What a new user pastes: README's first call and the indexing guide's queued sync, taken from the documents
 * themselves (so that the test breaks when they change) and run with `sh` against a fresh server in a child
 * process, on that server's port instead of 8000.
 */
const run = promisify(execFile);

/** The ```sh block of `file` that contains `marker`. */
function shBlock(file: string, marker: string): string {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  const block = [...text.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]!).find((b) => b.includes(marker));
  if (!block) throw new Error(`${file} has no sh block with ${marker}`);
  return block;
}

/** The answer a snippet documents in its last comment line, ids replaced by "any id". */
function documented(block: string): string {
  return block.trim().split('\n').at(-1)!.replace(/^# /, '');
}

const ID = /[0-9a-f]{32}/g;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let server: ServerProcess;
let snippet: string;

beforeAll(async () => {
  snippet = shBlock('README.md', 'npm start >');
  // The credentials the snippet exports are the ones the server gets, as `npm start` in that shell would.
  const exported = Object.fromEntries([...snippet.matchAll(/(BULKSYNC_ADMIN_CLIENT_(?:ID|SECRET))=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
  expect(Object.keys(exported).sort()).toEqual(['BULKSYNC_ADMIN_CLIENT_ID', 'BULKSYNC_ADMIN_CLIENT_SECRET']);
  db = await createTestDatabase();
  server = await startServer({ url: db.url, tokenSecret: 'first-run-token-secret-of-at-least-32-chars', env: exported });
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await db?.drop();
});

/** The snippet without the lines that start the server in the background and keep its pid. */
const START_LINES = /^npm start .*&\nSERVER=\$!\n/m;
const withoutStart = (script: string) => {
  expect(script).toMatch(START_LINES);
  return script.replace(START_LINES, '');
};

const onPort = (script: string) => script.replace(/127\.0\.0\.1:8000/g, `127.0.0.1:${server.port}`);

describe('first run, as pasted', () => {
  it('starts without warnings or crontab noise: the worker logs that it started, graphile-worker nothing about cron', () => {
    expect(server.log()).toContain('queue worker started');
    expect(server.log()).not.toMatch(/crontab/i);
    expect(server.log()).not.toMatch(/"level":"(warn|error)"/);
  });

  it("README's first call: waits for /health, gets a token, syncs a tax", async () => {
    // The server is the test's child process: the snippet's own start (and its pid) are the lines left out.
    expect(snippet).toContain('/health');
    const script = onPort(withoutStart(snippet));
    const { stdout } = await run('sh', ['-e', '-c', script], { cwd: ROOT, timeout: 60_000 });
    const answer = stdout.trim().split('\n').at(-1)!;
    expect(answer.replace(ID, '<id>')).toBe(documented(snippet).replace(ID, '<id>'));
  });

  it("README's first call waits when the server is not up yet", async () => {
    // The wait loop, against a server whose first attempt fails: it must not give up or go on early.
    const waitLine = snippet.split('\n').find((l) => l.includes('/health'))!;
    expect(waitLine).toContain('kill -0');
    const late = await startLater();
    const { stdout } = await run('sh', ['-e', '-c', `${waitLine.replace(/127\.0\.0\.1:8000/g, `127.0.0.1:${late.port}`)}\necho up`], { cwd: ROOT, timeout: 60_000 });
    expect(stdout.trim()).toBe('up');
    await late.close();
    expect(late.failedBeforeAnswer()).toBe(true);
  });

  it("README's first call stops with the server's last log lines when the server dies at startup", async () => {
    // The snippet's start and wait lines, the server run from the sources with a setting it refuses.
    const lines = snippet.split('\n');
    const start = lines.findIndex((l) => l.startsWith('npm start'));
    const wait = lines.findIndex((l) => l.includes('/health'));
    const port = await freePort();
    const script = lines
      .slice(start, wait + 1)
      .join('\n')
      .replace(/^npm start/, `${process.execPath} --import tsx src/main.ts`)
      .replace(/127\.0\.0\.1:8000/g, `127.0.0.1:${port}`);
    const log = path.join(ROOT, 'bulksync.log');
    const env = { ...process.env, DATABASE_URL: db.url, PORT: String(port), TOKEN_TTL_SECONDS: '3' };
    try {
      const failed = await run('sh', ['-e', '-c', `${script}\necho up`], { cwd: ROOT, env, timeout: 60_000 }).then(
        () => undefined,
        (e: { code: number; stdout: string }) => e,
      );
      expect(failed?.code).toBe(1);
      expect(failed?.stdout).toContain('TOKEN_TTL_SECONDS');
      expect(failed?.stdout).not.toContain('up');
    } finally {
      fs.rmSync(log, { force: true });
    }
  });

  it("the read guide's token line needs nothing but curl and node", async () => {
    const block = shBlock('docs/read-api.md', '/api/oauth/token');
    expect(block).not.toMatch(/\bjq\b/);
    const exported = Object.fromEntries([...snippet.matchAll(/(BULKSYNC_ADMIN_CLIENT_(?:ID|SECRET))=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const script = onPort(block.replace('<client id>', exported.BULKSYNC_ADMIN_CLIENT_ID!).replace('<secret>', exported.BULKSYNC_ADMIN_CLIENT_SECRET!));
    const { stdout } = await run('sh', ['-e', '-c', `${script}\necho "$TOKEN"`], { cwd: ROOT, timeout: 60_000 });
    expect(stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it("the indexing guide's queued sync of examples/products.json", async () => {
    const readme = withoutStart(snippet).replace(/^curl -s http:\/\/127\.0\.0\.1:8000\/api\/_action\/sync[\s\S]*$/m, '');
    const block = shBlock('docs/indexing.md', '@examples/products.json');
    const { stdout } = await run('sh', ['-e', '-c', onPort(`${readme}\n${block}`)], { cwd: ROOT, timeout: 60_000 });
    expect(stdout.trim()).toBe(documented(block));
  });
});

describe('npm run migrate, the one-shot step before several processes start (compose)', () => {
  it('migrates, installs the queue schema and ensures the admin, so processes can start with MIGRATE_ON_START=false', async () => {
    const fresh = await createTestDatabase();
    try {
      const env = { ...process.env, DATABASE_URL: fresh.url, BULKSYNC_ADMIN_CLIENT_ID: 'compose-admin', BULKSYNC_ADMIN_CLIENT_SECRET: 'compose-admin-secret', LOG_LEVEL: 'warn' };
      const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/migrate.ts')], { cwd: ROOT, env, timeout: 60_000 });
      expect(stdout).toContain('migrations are up to date');
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      try {
        const queue = await client.query(`SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = 'graphile_worker'`);
        expect(queue.rows[0].n).toBe(1);
        const admin = await client.query(`SELECT privileges FROM bulksync_integration WHERE client_id = 'compose-admin' AND revoked_at IS NULL`);
        expect(admin.rows).toEqual([{ privileges: ['*:*'] }]);
      } finally {
        await client.end();
      }
      // An API process that migrates nothing serves on that database, and the admin gets a token by HTTP Basic.
      const api = await startServer({ url: fresh.url, tokenSecret: 'first-run-token-secret-of-at-least-32-chars', env: { MIGRATE_ON_START: 'false', WORKER: 'off' } });
      try {
        const res = await fetch(`${api.base}/api/oauth/token`, {
          method: 'POST',
          headers: { authorization: `Basic ${Buffer.from('compose-admin:compose-admin-secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        });
        expect(res.status).toBe(200);
        expect(api.log()).not.toContain('migrations applied');
      } finally {
        await api.kill('SIGTERM');
      }
    } finally {
      await fresh.drop();
    }
  });
});

async function freePort(): Promise<number> {
  const net = await import('node:net');
  const probe = net.createServer();
  const port: number = await new Promise((r) => probe.listen(0, '127.0.0.1', () => r((probe.address() as import('node:net').AddressInfo).port)));
  await new Promise((r) => probe.close(r));
  return port;
}

/**
 * A /health that is not ready at first (503: the loop treats it as it treats a refused connection, `r.ok` false) and
 * answers once it was asked and refused: the wait loop is seen failing once, never given a fixed head start.
 */
async function startLater(): Promise<{ port: number; failedBeforeAnswer(): boolean; close(): Promise<void> }> {
  const http = await import('node:http');
  let refused = 0;
  let answered = false;
  const srv = http.createServer((_req, res) => {
    if (refused === 0) {
      refused++;
      res.writeHead(503).end('{"status":"starting"}');
      return;
    }
    answered = true;
    res.end('{"status":"ok"}');
  });
  const port: number = await new Promise((r) => srv.listen(0, '127.0.0.1', () => r((srv.address() as import('node:net').AddressInfo).port)));
  return {
    port,
    failedBeforeAnswer: () => refused > 0 && answered,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}
