import knexFactory, { type Knex } from 'knex';
import pg from 'pg';

// int8 (count(*), bigserial) as numbers: counts here stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

/** Counts every statement sent by the pool's clients (knex, raw pg and COPY alike). */
export class StatementCounter {
  count = 0;
  /** The statements since the last reset, their first words (set `recording` to keep them; tests read them). */
  recording = false;
  readonly statements: string[] = [];
  reset(): void {
    this.count = 0;
    this.statements.length = 0;
  }
  seen(statement: unknown): void {
    this.count++;
    if (!this.recording) return;
    const text = typeof statement === 'string' ? statement : (statement as { text?: unknown } | null)?.text;
    this.statements.push(typeof text === 'string' ? text.slice(0, 120) : 'COPY or other');
  }
}

interface CountingClient {
  query: (...args: unknown[]) => unknown;
  __counted?: boolean;
}

export function createKnex(url: string, opts: { poolMax?: number; counter?: StatementCounter } = {}): Knex {
  const counter = opts.counter;
  return knexFactory({
    client: 'pg',
    connection: url,
    pool: {
      min: 0,
      max: opts.poolMax ?? 10,
      afterCreate(conn: CountingClient, done: (err: Error | null, conn: unknown) => void) {
        if (counter && !conn.__counted) {
          const original = conn.query.bind(conn);
          conn.query = (...args: unknown[]) => {
            counter.seen(args[0]);
            return original(...args);
          };
          conn.__counted = true;
        }
        done(null, conn);
      },
    },
  });
}

/** Checks that a database answers; used by /ready. */
export async function ping(knex: Knex): Promise<boolean> {
  try {
    await knex.raw('select 1');
    return true;
  } catch {
    return false;
  }
}
