import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ROOT } from '../support/app';
import { spawnCli, type CliRun } from '../support/cli';
import { until } from '../support/poll';

/**
 * Every service command of `bulksync`, run from the clone as README lists them (`npx bulksync …` is this bin),
 * without DATABASE_URL: each one starts the embedded PostgreSQL of its data directory.
 */

const dataDir = path.join(ROOT, '.data', `cli-clone-${randomBytes(4).toString('hex')}`);
const env = { DATABASE_URL: '', EMBEDDED_PG_DIR: path.join(dataDir, 'pg'), LOG_LEVEL: 'info', BULKSYNC_ADMIN_CLIENT_ID: '', BULKSYNC_ADMIN_CLIENT_SECRET: '' };
const runs: CliRun[] = [];

function run(args: string[], extra: Record<string, string> = {}): CliRun {
  const r = spawnCli(args, 'http://127.0.0.1:9', { ...env, ...extra });
  runs.push(r);
  return r;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

afterAll(async () => {
  for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
  await Promise.all(runs.map((r) => r.exited));
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

it('migrate, integration create and list, serve and worker all run without DATABASE_URL', async () => {
  const migrate = run(['migrate']);
  expect(await migrate.exited).toBe(0);
  expect(migrate.stderr()).not.toMatch(/Cannot find module/);

  const create = run(['integration', 'create', '--name', 'clone-test', '--privileges', 'product:read']);
  expect(await create.exited).toBe(0);
  const list = run(['integration', 'list']);
  expect(await list.exited).toBe(0);
  expect(list.stdout()).toContain('clone-test');

  const port = await freePort();
  const serve = run(['serve'], { PORT: String(port), WORKER: 'off' });
  const health = await until(
    () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 0),
    (s) => s === 200 || serve.child.exitCode !== null,
    60,
  );
  expect({ health, stderr: serve.stderr() }).toEqual({ health: 200, stderr: '' });

  // The worker shares the embedded server the service started (its data directory's lock names it).
  const worker = run(['worker']);
  await until(async () => worker.stdout() + worker.stderr(), (out) => out.includes('worker started') || worker.child.exitCode !== null, 60);
  expect(worker.stdout()).toContain('worker started');
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toBe(0);
  serve.child.kill('SIGTERM');
  expect(await serve.exited).toBe(0);
}, 180_000);
