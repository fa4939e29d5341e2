import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';

interface Row {
  hits: number;
  reset_at: Date;
}

/** One increment in this many also deletes the rows of windows that ended (keys that stopped coming). */
const PRUNE_EVERY = 1000;

/**
 * express-rate-limit's store on the service's own PostgreSQL (table bulksync_rate_limit): fixed windows, one upsert
 * per request, so every API process on the database counts against the same limit. The row of a key is locked only
 * for the duration of that one statement.
 */
export class PostgresRateLimitStore implements Store {
  readonly localKeys = false;
  private windowMs = 60_000;
  private increments = 0;

  constructor(
    private readonly knex: Knex,
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  /**
   * Keys carry what a client sent (the client id of a failed token attempt): a NUL byte, which PostgreSQL text cannot
   * hold, would make the store fail and the limiter let the request pass. Such keys are stored by their hash.
   */
  private rowKey(key: string): string {
    return this.prefix + (key.includes('\u0000') ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key);
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    if (++this.increments % PRUNE_EVERY === 0) void this.prune();
    const r = await this.knex.raw<{ rows: Row[] }>(
      `INSERT INTO bulksync_rate_limit AS l (key, hits, reset_at)
       VALUES (?, 1, clock_timestamp() + ? * interval '1 millisecond')
       ON CONFLICT (key) DO UPDATE
          SET hits = CASE WHEN l.reset_at <= clock_timestamp() THEN 1 ELSE l.hits + 1 END,
              reset_at = CASE WHEN l.reset_at <= clock_timestamp() THEN EXCLUDED.reset_at ELSE l.reset_at END
       RETURNING hits, reset_at`,
      [this.rowKey(key), this.windowMs],
    );
    const row = r.rows[0]!;
    return { totalHits: row.hits, resetTime: row.reset_at };
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const r = await this.knex.raw<{ rows: Row[] }>(
      `SELECT hits, reset_at FROM bulksync_rate_limit WHERE key = ? AND reset_at > clock_timestamp()`,
      [this.rowKey(key)],
    );
    const row = r.rows[0];
    return row ? { totalHits: row.hits, resetTime: row.reset_at } : undefined;
  }

  async decrement(key: string): Promise<void> {
    await this.knex.raw(`UPDATE bulksync_rate_limit SET hits = greatest(hits - 1, 0) WHERE key = ? AND reset_at > clock_timestamp()`, [this.rowKey(key)]);
  }

  async resetKey(key: string): Promise<void> {
    await this.knex.raw(`DELETE FROM bulksync_rate_limit WHERE key = ?`, [this.rowKey(key)]);
  }

  private async prune(): Promise<void> {
    // A row whose window ended counts nothing: the next hit of its key starts afresh whether it is there or not.
    await this.knex.raw(`DELETE FROM bulksync_rate_limit WHERE reset_at < clock_timestamp()`).catch(() => undefined);
  }
}
