import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import { ADMIN, ROOT } from './app';

/** The app on a real TCP port (a child process cannot call an in-process app otherwise), behind optional middleware. */
export async function listen(app: Express, ...before: RequestHandler[]): Promise<{ base: string; close(): Promise<void> }> {
  const front = express();
  for (const m of before) front.use(m);
  front.use(app);
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = front.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** `bin/bulksync.js <args>` as a user runs it (through its shim), with the admin's credentials in the environment. */
export function spawnCli(args: string[], base: string, env: Record<string, string> = {}, cwd = ROOT): CliRun {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/bulksync.js'), ...args], {
    cwd,
    env: { ...process.env, BULKSYNC_URL: base, BULKSYNC_CLIENT_ID: ADMIN.clientId, BULKSYNC_CLIENT_SECRET: ADMIN.secret, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

export async function runCli(args: string[], base: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = spawnCli(args, base, env);
  run.child.stdin!.end();
  const code = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}
