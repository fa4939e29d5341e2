import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import { withConnection } from '../db/sql';
import { readChunk } from '../write/sync-jobs';

/** The job was cancelled while it ran: its transaction rolls back (or never starts). */
export class JobCancelled extends Error {
  constructor() {
    super('sync job cancelled');
  }
}

/**
 * A job's stored body as a byte stream, one chunk (about 1 MB) read at a time and only when the reader wants more.
 * Between chunks it asks whether the job is still wanted: a cancelled job stops reading (JobCancelled).
 */
export function storedBody(knex: Knex, jobId: string, stillWanted: () => Promise<boolean>): Readable {
  let seq = 0;
  return Readable.from(
    (async function* chunks() {
      for (;;) {
        if (seq > 0 && !(await stillWanted())) throw new JobCancelled();
        const data = await withConnection(knex, (sql) => readChunk(sql, jobId, seq));
        if (!data) return;
        seq++;
        yield data;
      }
    })(),
    { objectMode: false },
  );
}
