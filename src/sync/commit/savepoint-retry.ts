import type { Sql } from '../../db/sql';
import { savepoints } from '../../write/savepoints';

/**
 * The one loop that runs a part of the transaction again from its savepoint. A try decides, as a value, what becomes
 * of the savepoint; this loop is the only place that sends the statements:
 * - `keep`: what the try wrote stays (RELEASE, or nothing when the savepoint is `leftOpen`);
 * - `again`: back to the savepoint (ROLLBACK TO, which keeps it established) and one more try from there;
 * - `undo`: back to the savepoint, and on without what the try wrote (its problems are reported);
 * - `none`: the try ran without a savepoint (`guarded` said no), or it rolled back itself.
 */
export type SavepointFate = 'keep' | 'again' | 'undo' | 'none';

export interface TryOutcome<T> {
  savepoint: SavepointFate;
  value: T;
}

export interface SavepointRetry<T> {
  name: string;
  /** Whether try `n` (from 0) runs under the savepoint; a last try may go without one (then nothing can undo it). */
  guarded: (n: number) => boolean;
  /** The caller takes the savepoint with its first statement, in one round trip (see happy-path.ts). */
  takenByCaller?: boolean;
  /** A kept savepoint is not released (the chunk's: a RELEASE would cost a round trip per chunk and free nothing). */
  leftOpen?: boolean;
  /** One try: what it did, and what becomes of the savepoint. */
  attempt: (n: number, guarded: boolean) => Promise<TryOutcome<T>>;
}

/** Runs tries until one is not `again`; returns its value. */
export async function retryUnderSavepoint<T>(sql: Sql, s: SavepointRetry<T>): Promise<T> {
  // Established: taken and not released (ROLLBACK TO keeps a savepoint, so a try after `again` needs none).
  let open = false;
  for (let n = 0; ; n++) {
    const guarded = s.guarded(n);
    if (guarded && !open) {
      if (!s.takenByCaller || n > 0) await savepoints.begin(sql, s.name);
      open = true;
    }
    const out = await s.attempt(n, guarded);
    const fate = guarded ? out.savepoint : 'none';
    if (!guarded && out.savepoint === 'again') throw new Error(`a try of ${s.name} without its savepoint cannot run again`);
    switch (fate) {
      case 'again':
        await savepoints.undo(sql, s.name);
        continue;
      case 'undo':
        await savepoints.undo(sql, s.name);
        if (!s.leftOpen) await savepoints.keep(sql, s.name);
        return out.value;
      case 'keep':
        if (!s.leftOpen) await savepoints.keep(sql, s.name);
        return out.value;
      case 'none':
        return out.value;
    }
  }
}
