import { connect } from './db';

/**
 * PostgreSQL's side of a request: pg_stat_activity of the bench database polled every few milliseconds, so the
 * time of the server's connection is split by the statement it was running (or by its being idle in a
 * transaction, that is waiting for the service's own code).
 */
export interface ActivitySummary {
  intervalMs: number;
  samples: number;
  /** Estimated ms per statement (normalised text) or state. */
  byStatement: Map<string, number>;
  /** Estimated ms per wait event while a statement ran. */
  byWait: Map<string, number>;
}

function normalise(query: string): string {
  const q = query.replace(/\s+/g, ' ').trim();
  return q.length > 110 ? `${q.slice(0, 110)}…` : q;
}

export async function watchActivity(url: string, intervalMs = 10): Promise<{ stop(): Promise<ActivitySummary> }> {
  const client = await connect(url);
  const byStatement = new Map<string, number>();
  const byWait = new Map<string, number>();
  let samples = 0;
  let running = true;
  const add = (m: Map<string, number>, k: string, ms: number) => m.set(k, (m.get(k) ?? 0) + ms);
  let last = performance.now();
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      const { rows } = await client.query<{ state: string | null; query: string; wait: string | null }>(
        `SELECT state, query, wait_event_type || ':' || wait_event AS wait FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
           AND state IN ('active', 'idle in transaction')`,
      );
      samples++;
      // Each sample stands for the time since the one before.
      const now = performance.now();
      const weight = now - last;
      last = now;
      for (const r of rows) {
        if (r.state === 'idle in transaction') add(byStatement, '(idle in transaction: waiting for the service)', weight);
        else {
          add(byStatement, normalise(r.query), weight);
          add(byWait, r.wait ?? '(on CPU)', weight);
        }
      }
      const rest = intervalMs - (performance.now() - started);
      if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await client.end();
      return { intervalMs, samples, byStatement, byWait };
    },
  };
}
