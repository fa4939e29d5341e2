import type { Sql } from '../../src/db/sql';
import { chunkFate } from '../../src/sync/commit/happy-path';
import { writePath } from '../../src/sync/commit/operation';
import { nextStep, type UpsertEvent } from '../../src/sync/commit/run-upsert';
import { retryUnderSavepoint, type SavepointFate, type SavepointRetry } from '../../src/sync/commit/savepoint-retry';
import { phasesOf, stopsAfter, type ChunkFacts, type Phase } from '../../src/sync/commit/unit-of-work';

/**
 * The unit of work's decisions, without a database: which phases a chunk runs, when a problem ends it, what a try of
 * a command or of a chunk does next, and which savepoint statements the one retry loop sends for each decision.
 */

const facts = (over: Partial<ChunkFacts> = {}): ChunkFacts => ({ kind: 'records', writable: true, deferred: false, preview: false, ...over });

/**
 * The phases that run when a problem is found in the phases `finding` (or in none), and when planning fails the
 * request during the phase `failedDuring`: what runChunk's loop does with them.
 */
function run(c: ChunkFacts, failOnError: boolean, finding: readonly Phase[] = [], failedDuring?: Phase): Phase[] {
  const ran: Phase[] = [];
  let problems = 0;
  let failing = !c.writable;
  for (const phase of phasesOf(c)) {
    ran.push(phase);
    if (finding.includes(phase)) problems++;
    if (phase === failedDuring) failing = true;
    if (stopsAfter(phase, { failOnError, failing, problems })) break;
  }
  return ran;
}

describe('the phases of a chunk', () => {
  it('are lock, write, owners, outbox and result for a chunk of records that writes', () => {
    expect(run(facts(), true)).toEqual(['lock', 'write', 'owners', 'outbox', 'result']);
  });

  it('settle deferred references at an operation’s end, after its locks and before its writes', () => {
    expect(run(facts({ kind: 'end', deferred: true }), true)).toEqual(['lock', 'deferred', 'write', 'owners', 'outbox', 'result']);
    // A records chunk never settles them: later chunks of the operation may still write what they name.
    expect(phasesOf(facts({ kind: 'records', deferred: true }))).not.toContain('deferred');
  });

  it('take before- and after-images for a preview around the write', () => {
    expect(run(facts({ preview: true }), true)).toEqual(['lock', 'images', 'write', 'owners', 'preview', 'outbox', 'result']);
  });

  it('of a failing request are the lookups only: no lock, no images, nothing after the write', () => {
    expect(run(facts({ writable: false, preview: true }), true)).toEqual(['write']);
    expect(run(facts({ writable: false, kind: 'end', deferred: true }), true)).toEqual(['deferred']);
  });

  it('stop after the phase that found a problem under fail on error: no event, no result for what rolls back', () => {
    expect(run(facts(), true, ['write'])).toEqual(['lock', 'write']);
    expect(run(facts({ kind: 'end', deferred: true }), true, ['deferred'])).toEqual(['lock', 'deferred']);
  });

  it('go on under partial success, where failed records were dropped and the rest was written', () => {
    expect(run(facts(), false, ['write'])).toEqual(['lock', 'write', 'owners', 'outbox', 'result']);
  });

  it('stop after the write when planning of a later chunk failed the request meanwhile (it will be rolled back)', () => {
    expect(run(facts(), true, [], 'write')).toEqual(['lock', 'write']);
    expect(run(facts(), false, [], 'write')).toEqual(['lock', 'write']);
    expect(run(facts({ kind: 'end', deferred: true }), true, [], 'deferred')).toEqual(['lock', 'deferred']);
    // Only the deferred references and the write end a chunk: later phases belong to a write that stays.
    expect(stopsAfter('owners', { failOnError: true, failing: true, problems: 1 })).toBe(false);
  });
});

describe('a try of an upsert command on the careful path', () => {
  const lookedUp = (over: Partial<Extract<UpsertEvent, { at: 'looked-up' }>> = {}): UpsertEvent => ({ at: 'looked-up', problems: 0, writable: true, uniqueTaken: false, uniqueRetries: 0, ...over });

  it('writes after lookups without problems, and reports them otherwise (or when the request writes nothing more)', () => {
    expect(nextStep(true, lookedUp())).toBe('write');
    expect(nextStep(true, lookedUp({ problems: 2 }))).toBe('report');
    expect(nextStep(true, lookedUp({ writable: false }))).toBe('report');
  });

  it('runs again, twice at most, when a unique value was taken meanwhile while it made up keys', () => {
    expect(nextStep(true, lookedUp({ problems: 1, uniqueTaken: true }))).toBe('again');
    expect(nextStep(true, lookedUp({ problems: 1, uniqueTaken: true, uniqueRetries: 1 }))).toBe('again');
    expect(nextStep(true, lookedUp({ problems: 1, uniqueTaken: true, uniqueRetries: 2 }))).toBe('report');
    // Without its savepoint nothing can be undone: the conflict is reported.
    expect(nextStep(false, lookedUp({ problems: 1, uniqueTaken: true }))).toBe('report');
  });

  it('runs again when another transaction committed some of its new keys between its lookups and its insert', () => {
    expect(nextStep(true, { at: 'inserted', inserted: 9, fresh: 10 })).toBe('again');
    expect(nextStep(true, { at: 'inserted', inserted: 10, fresh: 10 })).toBe('write');
    // The last try inserts with DO UPDATE, without a savepoint: what it inserted is what there is.
    expect(nextStep(false, { at: 'inserted', inserted: 9, fresh: 10 })).toBe('write');
  });

  it('after a failed statement: again on a unique value, undone and reported on another check, thrown on anything else', () => {
    expect(nextStep(true, { at: 'failed', error: 'unique' })).toBe('again');
    expect(nextStep(true, { at: 'failed', error: 'named' })).toBe('undo');
    expect(nextStep(false, { at: 'failed', error: 'unique' })).toBe('abort');
    expect(nextStep(false, { at: 'failed', error: 'named' })).toBe('abort');
    expect(nextStep(true, { at: 'failed', error: 'unknown' })).toBe('throw');
    expect(nextStep(false, { at: 'failed', error: 'unknown' })).toBe('throw');
  });
});

describe('a try of a chunk on the happy path', () => {
  it('keeps what it wrote, or goes back for the careful path after a failed check', () => {
    expect(chunkFate({ written: 'ok', owners: true, attempt: 0 })).toBe('keep');
    expect(chunkFate({ written: 'ok', owners: false, attempt: 0 })).toBe('undo');
    expect(chunkFate({ written: 'failed', attempt: 0 })).toBe('undo');
  });

  it('runs again from its savepoint when rows were inserted meanwhile, three tries in all', () => {
    expect([0, 1, 2].map((attempt) => chunkFate({ written: 'missed', attempt }))).toEqual(['again', 'again', 'undo']);
  });

  it('is counted by the path that wrote it: checked on the first try or again, diagnosed after a failed check, else looked up', () => {
    expect(writePath({ written: true, tries: 1 })).toBe('checked');
    expect(writePath({ written: true, tries: 2 })).toBe('checked_again');
    expect(writePath({ written: true, tries: 3 })).toBe('checked_again');
    expect(writePath({ written: false, tries: 3 })).toBe('diagnosed');
    expect(writePath(undefined)).toBe('looked_up');
  });
});

describe('the retry loop around a savepoint', () => {
  function fakeSql(): { sql: Sql; sent: string[] } {
    const sent: string[] = [];
    const sql: Sql = {
      query: async <R extends object>(text: string) => {
        sent.push(text);
        return { rows: [] as R[], rowCount: 0 };
      },
      copyFrom: () => Promise.reject(new Error('no COPY here')),
      inTransaction: () => true,
    };
    return { sql, sent };
  }

  async function loop(fates: readonly SavepointFate[], over: Partial<SavepointRetry<number>> = {}) {
    const { sql, sent } = fakeSql();
    const tries: [number, boolean][] = [];
    const value = await retryUnderSavepoint(sql, {
      name: 'sp',
      guarded: () => true,
      attempt: async (n, guarded) => {
        tries.push([n, guarded]);
        sent.push(`try ${n}`);
        return { savepoint: fates[n]!, value: n };
      },
      ...over,
    });
    return { value, sent, tries };
  }

  it('takes the savepoint once, goes back to it for each try again, and releases what it keeps', async () => {
    const { value, sent } = await loop(['again', 'again', 'keep']);
    expect(value).toBe(2);
    expect(sent).toEqual(['SAVEPOINT sp', 'try 0', 'ROLLBACK TO SAVEPOINT sp', 'try 1', 'ROLLBACK TO SAVEPOINT sp', 'try 2', 'RELEASE SAVEPOINT sp']);
  });

  it('undoes what a try wrote and goes on without it', async () => {
    expect((await loop(['undo'])).sent).toEqual(['SAVEPOINT sp', 'try 0', 'ROLLBACK TO SAVEPOINT sp', 'RELEASE SAVEPOINT sp']);
  });

  it('leaves a savepoint the caller took with its first statement, and open when asked', async () => {
    const { sent } = await loop(['again', 'undo'], { takenByCaller: true, leftOpen: true });
    expect(sent).toEqual(['try 0', 'ROLLBACK TO SAVEPOINT sp', 'try 1', 'ROLLBACK TO SAVEPOINT sp']);
    expect((await loop(['keep'], { takenByCaller: true, leftOpen: true })).sent).toEqual(['try 0']);
  });

  it('runs a last try without the savepoint when guarded says so, and sends nothing for it', async () => {
    const { sent, tries } = await loop(['again', 'undo'], { guarded: (n) => n < 1 });
    expect(tries).toEqual([
      [0, true],
      [1, false],
    ]);
    expect(sent).toEqual(['SAVEPOINT sp', 'try 0', 'ROLLBACK TO SAVEPOINT sp', 'try 1']);
    expect((await loop(['keep'], { guarded: () => false })).sent).toEqual(['try 0']);
  });

  it('refuses to run a try again that had no savepoint to go back to', async () => {
    await expect(loop(['again'], { guarded: () => false })).rejects.toThrow(/without its savepoint/);
  });
});
