import path from 'node:path';
import { loadRegistry } from '../../src/definitions/registry';
import { DEFAULT_LANGUAGE_CONTEXT } from '../../src/definitions/translations';
import type { Problem } from '../../src/errors';
import type { BodyEvent } from '../../src/sync/body/events';
import type { Chunk } from '../../src/sync/commit/executor';
import { SyncPipeline, type ChunkSink, type PipelineLimits } from '../../src/sync/pipeline';

/**
 * The pipeline's flow control without a database: body events in, planned chunks out to a stand-in for the
 * transaction that records what it is given and can hold a chunk back (PostgreSQL being slow).
 */
const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);

class Sink implements ChunkSink {
  readonly problems: Problem[] = [];
  readonly chunks: Chunk[] = [];
  readonly calls: string[] = [];
  /** What each run was told of the chunk after it. */
  readonly upcoming: (() => Chunk | undefined)[] = [];
  /** The chunk after each one, as its run saw it when it began. */
  readonly nextAtStart: (Chunk | undefined)[] = [];
  stopped = false;
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => undefined;

  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }

  release(): void {
    this.open();
  }

  stopWriting(): void {
    this.stopped = true;
    this.calls.push('stop');
  }

  refused(): void {}

  async lockAhead(chunks: readonly Chunk[]): Promise<void> {
    this.calls.push(`lock ${chunks.length}`);
  }

  async run(chunk: Chunk, upcoming?: () => Chunk | undefined): Promise<void> {
    this.calls.push(`run ${chunk.kind} ${chunk.rows}`);
    if (upcoming) this.upcoming.push(upcoming);
    this.nextAtStart.push(upcoming?.());
    this.chunks.push(chunk);
    await this.gate;
  }
}

const taxes = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `Tax ${i}`, taxRate: i }));

/** The events of a keyed body `{ op: { entity, action, payload } }`, one record an event; counts what was pulled. */
function events(ops: Record<string, { entity: string; action: string; payload: unknown[] }>, pulled = { records: 0 }): AsyncIterable<BodyEvent[]> {
  return (async function* () {
    let position = 0;
    for (const [key, op] of Object.entries(ops)) {
      yield [{ type: 'operation', key, position: position++ }, { type: 'property', name: 'entity', value: op.entity }, { type: 'property', name: 'action', value: op.action }, { type: 'payload' }];
      for (const value of op.payload) {
        pulled.records++;
        yield [{ type: 'record', value }];
      }
      yield [{ type: 'end' }];
    }
  })();
}

function pipeline(sink: Sink, limits: Partial<PipelineLimits> = {}, failOnError = true): SyncPipeline {
  return new SyncPipeline({
    registry,
    limits: { maxRecords: 1000, chunkRecords: 2, ...limits },
    privileges: ['*:*'],
    failOnError,
    execution: sink,
    inputs: { i18n: DEFAULT_LANGUAGE_CONTEXT, lookups: new Map() },
  });
}

describe('the sync pipeline', () => {
  it('plans records in chunks of chunkRecords, takes the head\'s locks once, then writes the chunks in order and the operation\'s end', async () => {
    const sink = new Sink();
    const outcome = await pipeline(sink, { chunkRecords: 2 }).run(events({ t: { entity: 'tax', action: 'upsert', payload: taxes(5) } }));
    expect(outcome).toEqual({ records: 5, problems: [], stopped: false });
    expect(sink.calls).toEqual(['lock 1', 'run records 2', 'run records 2', 'run records 1', 'run end 0']);
    expect(sink.chunks.map((c) => c.plan.operation.key)).toEqual(['t', 't', 't', 't']);
  });

  it('stops reading while a chunk waits for the database: at most one more chunk is planned ahead', async () => {
    const sink = new Sink();
    sink.hold();
    const pulled = { records: 0 };
    const running = pipeline(sink, { chunkRecords: 2 }).run(events({ t: { entity: 'tax', action: 'upsert', payload: taxes(20) } }, pulled));
    // Let the reading go as far as it can while the first chunk is held.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(sink.chunks).toHaveLength(1);
    expect(pulled.records).toBeLessThanOrEqual(2 * 3 + 1);
    sink.release();
    const outcome = await running;
    expect(outcome.records).toBe(20);
    expect(pulled.records).toBe(20);
  });

  it('tells the chunk being written which chunk comes next once that one is planned (its rows are encoded early)', async () => {
    const sink = new Sink();
    sink.hold();
    const running = pipeline(sink, { chunkRecords: 2 }).run(events({ t: { entity: 'tax', action: 'upsert', payload: taxes(4) } }));
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    // The first chunk is held; the second is planned and waits.
    expect(sink.chunks).toHaveLength(1);
    const next = sink.upcoming[0]!();
    expect(next).toMatchObject({ kind: 'records', rows: 2 });
    expect(next).not.toBe(sink.chunks[0]);
    sink.release();
    await running;
    // It is the chunk written next. The operation's end, planned when the body ended, was the last: nothing waited
    // behind it while it ran.
    expect(sink.chunks[1]).toBe(next);
    expect(sink.chunks.at(-1)!.kind).toBe('end');
    expect(sink.nextAtStart.at(-1)).toBeUndefined();
  });

  it('stops at a fatal body problem without writing anything', async () => {
    const sink = new Sink();
    const broken = (async function* (): AsyncIterable<BodyEvent[]> {
      yield [{ type: 'operation', key: 't', position: 0 }, { type: 'property', name: 'entity', value: 'tax' }, { type: 'property', name: 'action', value: 'upsert' }, { type: 'payload' }];
      yield [{ type: 'record', value: taxes(1)[0] }];
      yield [{ type: 'invalid', fatal: true, problem: { code: 'BODY_NOT_JSON', detail: 'cut off', pointer: '' } }];
    })();
    const outcome = await pipeline(sink).run(broken);
    expect(outcome).toMatchObject({ stopped: true, problems: [{ code: 'BODY_NOT_JSON' }] });
    expect(sink.chunks).toEqual([]);
  });

  it('refuses more records than the limit before writing them', async () => {
    const sink = new Sink();
    const outcome = await pipeline(sink, { maxRecords: 3, chunkRecords: 10 }).run(events({ t: { entity: 'tax', action: 'upsert', payload: taxes(4) } }));
    expect(outcome).toMatchObject({ stopped: true, problems: [{ code: 'PAYLOAD_TOO_MANY_RECORDS' }] });
    expect(sink.chunks).toEqual([]);
  });

  it('under fail on error, a planning problem stops the writes but later chunks are still planned and reported', async () => {
    const sink = new Sink();
    const payload = [...taxes(2), { name: 'Bad', taxRate: 'x' }, ...taxes(2), { name: 'Worse', taxRate: 'y' }];
    const outcome = await pipeline(sink, { chunkRecords: 2 }).run(events({ t: { entity: 'tax', action: 'upsert', payload } }));
    expect(sink.stopped).toBe(true);
    expect(outcome.problems.map((p) => p.pointer)).toEqual(['/t/2/taxRate', '/t/5/taxRate']);
  });

  it('answers a body without operations with OPERATION_INVALID', async () => {
    const outcome = await pipeline(new Sink()).run((async function* (): AsyncIterable<BodyEvent[]> {})());
    expect(outcome).toMatchObject({ stopped: true, problems: [{ code: 'OPERATION_INVALID', detail: 'the request holds no operation' }] });
  });

  it('lets the event loop run between batches of a body already received while a chunk is written', async () => {
    // The first chunk is held (PostgreSQL writing it); 20 more records, all there at once (a body in the socket's
    // buffer), are read meanwhile. Nothing awaits I/O while they are read, so only the pipeline's own pause lets an I/O
    // callback (here a setImmediate counter, as PostgreSQL's answer would be) in between them.
    let turns = 0;
    let counting = true;
    const tick = () => {
      turns++;
      if (counting) setImmediate(tick);
    };
    const sink = new Sink();
    sink.hold();
    const pulled = { records: 0 };
    const running = pipeline(sink, { chunkRecords: 10 }).run(events({ t: { entity: 'tax', action: 'upsert', payload: taxes(30) } }, pulled));
    while (sink.chunks.length < 1) await new Promise((r) => setImmediate(r));
    const before = turns;
    setImmediate(tick);
    while (pulled.records < 30) await new Promise((r) => setImmediate(r));
    counting = false;
    expect(turns - before).toBeGreaterThanOrEqual(19);
    sink.release();
    await running;
    expect(sink.calls).toEqual(['lock 1', 'run records 10', 'run records 10', 'run records 10', 'run end 0']);
  });
});
