import path from 'node:path';
import { z } from 'zod';

/**
 * Every setting of the service, read from the environment exactly once.
 * Nothing else in the code base reads process.env.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'on', 'off', 'yes', 'no'])
  .transform((v) => ['true', '1', 'on', 'yes'].includes(v));

const bytes = z
  .string()
  .regex(/^\d+\s*(b|kb|mb|gb)?$/i, 'expected a size such as 67108864, 64mb or 1gb')
  .transform((v) => {
    const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(v)!;
    const unit = (m[2] ?? 'b').toLowerCase();
    const factor = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }[unit as 'b' | 'kb' | 'mb' | 'gb'];
    return Number(m[1]) * factor;
  });

const pathList = z
  .string()
  .min(1)
  .transform((v) => v.split(/[,:]/).map((p) => p.trim()).filter(Boolean).map((p) => path.resolve(p)));

/** One `<locale code>:<name>` entry of LANGUAGES. */
const LANGUAGE_ENTRY = /^([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*):([^,]{1,255})$/;

/** A LANGUAGES entry (`de-DE:Deutsch`, checked at startup) as the language it names. */
export function languageOf(entry: string): { localeCode: string; name: string } {
  const m = LANGUAGE_ENTRY.exec(entry)!;
  return { localeCode: m[1]!, name: m[2]!.trim() };
}

/**
 * The languages a fresh database gets (`en-GB:English,de-DE:Deutsch`, a fresh Shopware install's): locale code and
 * name, the first one the system default. Kept as its entries (`languageOf` reads one), so that a configuration
 * written back to an environment reads the same.
 */
const languages = z.string().transform((v, ctx) => {
  const out: string[] = [];
  for (const entry of v.split(',').map((e) => e.trim()).filter(Boolean)) {
    if (!LANGUAGE_ENTRY.test(entry)) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not <locale code>:<name> (e.g. de-DE:Deutsch)` });
      return z.NEVER;
    }
    const locale = languageOf(entry).localeCode.toLowerCase();
    if (out.some((e) => languageOf(e).localeCode.toLowerCase() === locale)) {
      ctx.addIssue({ code: 'custom', message: `${languageOf(entry).localeCode} is listed twice` });
      return z.NEVER;
    }
    out.push(entry);
  }
  if (!out.length) ctx.addIssue({ code: 'custom', message: 'expected at least one language, e.g. en-GB:English' });
  return out;
});

/** Days the change feed keeps entries (tombstones included); a cursor older than that must resynchronise. */
export const CHANGES_RETENTION_DAYS_DEFAULT = 30;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  HOST: z.string().min(1).default('127.0.0.1'),
  /**
   * Seconds a request may take to arrive whole (Node's requestTimeout, 300 s by default, which answers a bare 408 and
   * drops the connection). A large sync is read only as fast as it is written, so its body arrives for as long as the
   * import runs. 0: no limit.
   */
  HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(0).max(86400).default(3600),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL')
    .optional(),
  /** A streaming replica of DATABASE_URL for GET /api/<entity>/<id> and search; everything else stays on the primary. */
  DATABASE_READ_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL')
    .optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  EMBEDDED_PG_DIR: z.string().min(1).default('.data/pg'),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly', 'silent']).default('info'),
  BULKSYNC_ADMIN_CLIENT_ID: z.string().min(1).optional(),
  BULKSYNC_ADMIN_CLIENT_SECRET: z.string().min(8, 'must be at least 8 characters').optional(),
  BULKSYNC_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86400).default(600),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(1200),
  /** Where the per-integration limit counts: `database` (shared by every API process) or `memory` (per process). */
  RATE_LIMIT_STORE: z.enum(['database', 'memory']).default('database'),
  TOKEN_FAILURES_PER_15_MINUTES: z.coerce.number().int().min(1).default(10),
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean)),
  SCHEMAS_DIR: pathList.default(['schemas']),
  MIGRATIONS_DIR: pathList.default(['migrations']),
  SYNC_MAX_BODY_BYTES: bytes.default(1024 * 1024 * 1024),
  SYNC_MAX_RECORDS: z.coerce.number().int().min(1).default(1_000_000),
  /** Payload records planned and written together: the unit of the pipeline's overlap and of its memory. */
  SYNC_CHUNK_RECORDS: z.coerce.number().int().min(1).max(100_000).default(2_000),
  /** Planned rows kept to re-run a transaction after a deadlock; a bigger request that loses one is answered 503. */
  SYNC_RETRY_WINDOW_ROWS: z.coerce.number().int().min(0).default(20_000),
  SYNC_MAX_RETRIES: z.coerce.number().int().min(0).max(20).default(5),
  /** Clear guard: the share of a snapshot's records a `missing` clear may touch unless the operation says otherwise. */
  SYNC_CLEAR_MAX_RATIO: z.coerce.number().min(0).max(1).default(0.5),
  MIGRATE_ON_START: bool.default(true),
  /** Created by the migrations on a fresh database only (README, "Configuration"). */
  LANGUAGES: languages.default(['en-GB:English', 'de-DE:Deutsch']),
  WORKER: z.enum(['on', 'off']).default('on'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
  INDEXING_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  WORKER_HEARTBEAT_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
  /** https only unless true (docs/webhooks.md). */
  WEBHOOK_ALLOW_HTTP: bool.default(false),
  /** Loopback, private, link-local and metadata addresses refused unless true. */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: bool.default(false),
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().positive().max(300).default(10),
  /** First retry after this long; each next one waits about twice as long (with jitter). */
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().positive().max(86400).default(60),
  /** A delivery not delivered this long after its event is given up. */
  WEBHOOK_RETRY_HOURS: z.coerce.number().positive().max(24 * 30).default(24),
  WEBHOOK_MAX_CONSECUTIVE_FAILURES: z.coerce.number().int().min(1).max(100000).default(10),
  /** GET /api/_info/openapi.json and the viewer /api/_info/docs without a token. */
  OPENAPI_PUBLIC: bool.default(false),
  CHANGES_RETENTION_DAYS: z.coerce.number().int().min(1).max(36500).default(CHANGES_RETENTION_DAYS_DEFAULT),
  /** Hours an Idempotency-Key's answer is kept (docs/sync-jobs.md). */
  IDEMPOTENCY_TTL_HOURS: z.coerce.number().int().min(1).max(24 * 365).default(24),
  /** OpenTelemetry traces go to this OTLP/HTTP endpoint (docs/operations.md); unset: no tracing at all. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().regex(/^https?:\/\//, 'expected an http:// or https:// URL').optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('bulksync'),
  /** Days an async sync job and its stored body are kept after submission (docs/sync-jobs.md). */
  SYNC_JOB_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
});

export type Config = z.infer<typeof envSchema>;

/** The bounds a setting must keep: numbers between min and max, strings of at least minLength characters. */
export interface ConfigLimit {
  min?: number;
  max?: number;
  minLength?: number;
}

/**
 * Every bound the schema enforces, per variable (the README's configuration table states them; a test compares).
 * Read from the schema itself, so that a bound changed here cannot silently differ from the documentation.
 */
export function configLimits(): Record<string, ConfigLimit> {
  const out: Record<string, ConfigLimit> = {};
  const bounded = (n: number | null | undefined) => (typeof n === 'number' && Math.abs(n) < Number.MAX_SAFE_INTEGER ? n : undefined);
  for (const [name, field] of Object.entries(envSchema.shape)) {
    let t: z.ZodType = field;
    while (t instanceof z.ZodDefault || t instanceof z.ZodOptional) t = t.unwrap() as z.ZodType;
    const limit: ConfigLimit = {};
    if (t instanceof z.ZodNumber) {
      limit.min = bounded(t.minValue);
      limit.max = bounded(t.maxValue);
    } else if (t instanceof z.ZodString && t.minLength !== null && t.minLength > 1) {
      limit.minLength = t.minLength;
    }
    const defined = Object.fromEntries(Object.entries(limit).filter(([, v]) => v !== undefined));
    if (Object.keys(defined).length) out[name] = defined;
  }
  return out;
}

export class ConfigError extends Error {}

/** Parse an environment (process.env by default); throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset", as they do in most .env files and docker-compose.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0] ?? '?');
      const shown = name.includes('SECRET') || (name.startsWith('DATABASE_') && name.endsWith('_URL')) ? '(hidden)' : JSON.stringify(env[name]);
      return `  ${name}=${shown}: ${i.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const cfg = parsed.data;
  if (Boolean(cfg.BULKSYNC_ADMIN_CLIENT_ID) !== Boolean(cfg.BULKSYNC_ADMIN_CLIENT_SECRET)) {
    throw new ConfigError(
      'Invalid configuration:\n  BULKSYNC_ADMIN_CLIENT_ID and BULKSYNC_ADMIN_CLIENT_SECRET must be set together',
    );
  }
  if (cfg.DATABASE_READ_URL && !cfg.DATABASE_URL) {
    // The embedded server has no replica: a read URL without a primary URL points at a different database.
    throw new ConfigError('Invalid configuration:\n  DATABASE_READ_URL needs DATABASE_URL (the primary it replicates)');
  }
  return cfg;
}
