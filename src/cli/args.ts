import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BulksyncClient } from '../client';

/** Exit codes of every bulksync command. */
export const EXIT = { ok: 0, failedRecords: 1, usage: 2 } as const;

/** Wrong arguments, a missing file, unknown entity or column, a refused secret, an unreachable service: exit 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

/** node:util parseArgs with `--help` on every command, and its errors turned into UsageError. */
export function parse(args: string[], options: Options, usage: string): Parsed {
  try {
    const { values, positionals } = parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals, help: Boolean(values.help) };
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usage}`);
  }
}

/** The options naming the service and the credentials, shared by every command that calls it. */
export const CONNECTION_OPTIONS: Options = {
  url: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
};

export const CONNECTION_HELP = `connection (options win over the environment):
  --url <url>              the service (BULKSYNC_URL, default http://127.0.0.1:8000)
  --client-id <id>         an integration's client id (BULKSYNC_CLIENT_ID)
  --client-secret <secret> its secret (BULKSYNC_CLIENT_SECRET; prefer the variable: options show in ps)`;

export function clientFrom(values: Parsed['values'], env: NodeJS.ProcessEnv, extra: Partial<ConstructorParameters<typeof BulksyncClient>[0]> = {}): BulksyncClient {
  const url = str(values.url) ?? env.BULKSYNC_URL ?? 'http://127.0.0.1:8000';
  const clientId = str(values['client-id']) ?? env.BULKSYNC_CLIENT_ID;
  const clientSecret = str(values['client-secret']) ?? env.BULKSYNC_CLIENT_SECRET;
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url: expected an http:// or https:// URL, got "${url}"`);
  if (!clientId || !clientSecret) {
    throw new UsageError('credentials missing: set BULKSYNC_CLIENT_ID and BULKSYNC_CLIENT_SECRET (or --client-id and --client-secret)');
  }
  return new BulksyncClient({ url, clientId, clientSecret, ...extra });
}

export function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function positiveInt(v: string | boolean | undefined, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < 1 || n > max) throw new UsageError(`--${name}: expected a whole number from 1 to ${max}, got "${String(v)}"`);
  return n;
}

export function choice<T extends string>(v: string | boolean | undefined, name: string, allowed: readonly T[], fallback: T): T {
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !allowed.includes(v as T)) throw new UsageError(`--${name}: expected one of ${allowed.join(', ')}, got "${String(v)}"`);
  return v as T;
}

export function bool(v: string | boolean | undefined, name: string, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (v === true || v === 'true') return true;
  if (v === 'false') return false;
  throw new UsageError(`--${name}: expected true or false, got "${String(v)}"`);
}
