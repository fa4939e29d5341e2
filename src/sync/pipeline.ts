import { missing as lackedPrivileges } from '../auth/privileges';
import type { Registry } from '../definitions/registry';
import { MAX_REPORTED_ERRORS, pointer, showValue, type Problem } from '../errors';
import type { BodyEvent } from './body/events';
import { ChunkQueue } from './chunk-queue';
import type { Chunk, SyncExecution } from './commit/executor';

/** What the pipeline hands its chunks to: the request's transaction (SyncExecution), or a test's stand-in. */
export type ChunkSink = Pick<SyncExecution, 'problems' | 'stopWriting' | 'refused' | 'lockAhead' | 'run'>;
import { withoutRecords } from './commit/partial';
import { planChunkPausing, planOperationEnd, type PlanInputs } from './plan/plan';
import { Problems } from './plan/plan-context';
import { deletePrivileges, forbidden, requiredPrivileges } from './privileges';
import { parseOperation } from './operation-header';
import { withSpan } from '../observability/tracing';
import { openOperation, type OpenOperation } from './open-operation';
import type { Command, Operation, OperationPlan } from './types';

/** The event of every payload item. */
type RecordEvent = Extract<BodyEvent, { type: 'record' }>;

export interface PipelineLimits {
  /** Payload records per request (nested records and links are not counted here). */
  maxRecords: number;
  /** Payload records planned and written together. */
  chunkRecords: number;
}

export interface PipelineContext {
  registry: Registry;
  limits: PipelineLimits;
  privileges: readonly string[];
  failOnError: boolean;
  execution: ChunkSink;
  /** The request's language and the records json values reference. */
  inputs: PlanInputs;
  /** Payload records read so far, and written so far (progress of a long request). */
  onProgress?: (progress: { records: number; done: number }) => void;
}

export interface PipelineOutcome {
  /** Payload records read. */
  records: number;
  /** Problems that fail the request before or beside the transaction (body, operations, privileges, planning). */
  problems: Problem[];
  /** The request cannot go on (body unreadable, forbidden, too big): answer with `problems` at once. */
  stopped: boolean;
}

/** A chunk as planning hands it over: its commands, the problems planning found in it, and its payload records. */
interface PlannedChunk {
  operation: Operation;
  commands: Command[];
  kind: Chunk['kind'];
  problems: readonly Problem[];
  lineOf: Chunk['lineOf'];
  records: number;
}

/** A turn of the event loop: I/O callbacks (PostgreSQL's answers) run before planning goes on. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Events of a body → operations → planned chunks → the transaction. While PostgreSQL runs one chunk, the next is
 * read and planned; the queue holds at most one more (chunk-queue.ts), and reading stops while it is full (so the socket
 * stops too). Every problem is collected (up to the cap); after the first, nothing more is written.
 */
export class SyncPipeline {
  private readonly queue = new ChunkQueue();
  private readonly planning = new Problems();
  private readonly outcome: PipelineOutcome = { records: 0, problems: [], stopped: false };
  private readonly keys = new Set<string>();
  private current: OpenOperation | undefined;
  private operations = 0;
  private done = 0;
  private plannedRows = 0;
  private crash: unknown;

  constructor(private readonly ctx: PipelineContext) {}

  async run(events: AsyncIterable<BodyEvent[]>): Promise<PipelineOutcome> {
    try {
      for await (const batch of events) {
        for (const ev of batch) {
          // A record, the event of every payload item, is taken without an await: only a full chunk waits.
          if (ev.type !== 'record') await this.onEvent(ev);
          else if (this.take(ev)) await this.flush(this.current!, false);
          if (this.outcome.stopped || this.crash) break;
        }
        if (this.outcome.stopped || this.crash || this.full) break;
        // A body already received is read batch after batch as microtasks, with no I/O in between: PostgreSQL's
        // answer to the chunk being written would wait for a whole chunk's reading (10 ms for 2,000 products).
        if (this.queue.pending) await nextTurn();
      }
    } catch (e) {
      // The body broke off (a client gone): the chunk PostgreSQL is writing must finish before the transaction
      // is rolled back and its connection returned, or the connection would go back to the pool mid-statement.
      this.queue.drop();
      await this.queue.onIdle();
      throw e;
    }
    if (this.outcome.stopped) this.queue.drop();
    if (!this.outcome.stopped && !this.crash && !this.full) {
      if (this.current) await this.closeOperation();
      if (!this.operations) this.stop({ code: 'OPERATION_INVALID', detail: 'the request holds no operation', pointer: '' });
    }
    if (!this.outcome.stopped && !this.crash) await this.startWriting();
    await this.queue.onIdle();
    if (this.crash) throw this.crash;
    this.outcome.problems = this.planning.list;
    return this.outcome;
  }

  private get full(): boolean {
    return this.planning.list.length + this.ctx.execution.problems.length >= MAX_REPORTED_ERRORS;
  }

  /** Whether a problem fails the whole request: any under fail on error, else one that names no record. */
  private failsRequest(p: Problem): boolean {
    return this.ctx.failOnError || !(typeof p.meta?.index === 'number' && p.meta.index >= 0);
  }

  /** Problems planning just added: the ones that fail the request stop the writes. */
  private planned(problems: readonly Problem[]): void {
    if (problems.some((p) => this.failsRequest(p))) this.ctx.execution.stopWriting();
  }

  private stop(...problems: Problem[]): void {
    this.outcome.stopped = true;
    this.planning.list.length = 0;
    this.planning.list.push(...problems);
  }

  private report(p: Problem): void {
    this.planning.addAt(p.code, p.detail, p.pointer ?? '', p.meta ?? {});
    this.planned([p]);
  }

  /** A payload item into the open operation; true when its chunk is full (to flush). */
  private take(ev: RecordEvent): boolean {
    const op = this.current!;
    if (++this.outcome.records > this.ctx.limits.maxRecords) {
      this.stop({ code: 'PAYLOAD_TOO_MANY_RECORDS', detail: `the request holds more than ${this.ctx.limits.maxRecords} records; the limit is ${this.ctx.limits.maxRecords} per request (SYNC_MAX_RECORDS)`, pointer: '' });
      return false;
    }
    op.records.push(ev.value);
    if (ev.line !== undefined) op.lines.push(ev.line);
    op.next++;
    return op.records.length >= this.ctx.limits.chunkRecords;
  }

  private async onEvent(ev: Exclude<BodyEvent, RecordEvent>): Promise<void> {
    switch (ev.type) {
      case 'operation':
        if (this.current) await this.closeOperation();
        this.operations++;
        this.current = openOperation(ev.key ?? String(ev.position), ev.position, ev.line, Boolean(ev.notAnObject));
        return;
      case 'property': {
        const op = this.current!;
        if (op.operation || op.refused) op.late.push(ev.name);
        op.props[ev.name] = ev.value;
        return;
      }
      case 'payload':
        this.current!.payloadSeen = true;
        return;
      case 'end':
        await this.closeOperation();
        return;
      case 'invalid':
        if (ev.fatal) return this.stop(ev.problem);
        return await this.invalidLine(ev.problem);
    }
  }

  /** An NDJSON line that is not JSON (or a record before any header): a failed record of the open operation. */
  private async invalidLine(p: Problem): Promise<void> {
    const op = this.current;
    if (!op || p.code === 'OPERATION_INVALID') return this.report(p);
    // The line takes a payload position, so that the records after it keep the pointers their lines suggest.
    if (op.records.length) await this.flush(op, false);
    const index = op.next++;
    op.first = op.next;
    this.report({ ...p, pointer: pointer(op.key, index), meta: { ...p.meta, operation: op.key, index } });
    if (!this.ctx.failOnError) this.ctx.execution.refused(op.key, 1);
  }

  /** The operation's header, checked once: when its first chunk is planned, or when it ends. */
  private seal(op: OpenOperation): Operation | undefined {
    if (op.operation || op.refused) return op.operation;
    // Shopware: the operation's "key" field names it (in either body form, and in an NDJSON header); else the
    // object key, or the position.
    const given = op.props.key;
    if (given !== undefined) {
      if (typeof given === 'string' && given !== '') op.key = given;
      else this.report({ code: 'OPERATION_INVALID', detail: `key must be a non-empty string, got ${showValue(given)}`, pointer: pointer(op.key, 'key'), meta: { operation: op.key } });
    }
    const at = { operation: op.key, ...(op.line !== undefined ? { line: op.line } : {}) };
    if (this.keys.has(op.key)) {
      op.refused = true;
      this.report({ code: 'OPERATION_INVALID', detail: `operation key "${op.key}" is used twice`, pointer: pointer(op.key), meta: at });
      return undefined;
    }
    this.keys.add(op.key);
    const raw = op.notAnObject ? op.props[''] : { ...op.props, ...(op.payloadSeen || (op.ndjson && op.props.action === 'upsert') ? { payload: [] } : {}) };
    const parsed = parseOperation(op.key, op.notAnObject ? 'not an object' : raw, this.ctx.registry);
    for (const p of parsed.problems) this.report({ ...p, meta: { ...p.meta, ...at } });
    if (!parsed.operation) {
      op.refused = true;
      return undefined;
    }
    // What the operation itself needs is checked before its first record is planned; what nested records need,
    // chunk by chunk. Either way before anything of the request commits.
    const e = parsed.operation.entity.name;
    const needed = new Map((parsed.operation.action === 'upsert' ? [`${e}:upsert`] : deletePrivileges(this.ctx.registry, e)).map((p) => [p, op.key] as const));
    const lacking = lackedPrivileges(this.ctx.privileges, needed.keys());
    if (lacking.length) {
      this.stop(...forbidden(lacking, needed));
      return undefined;
    }
    op.operation = parsed.operation;
    return op.operation;
  }

  private async closeOperation(): Promise<void> {
    const op = this.current;
    if (!op) return;
    this.current = undefined;
    await this.flush(op, true);
  }

  /** Plans the records gathered so far (and, at the operation's end, what runs after them) and queues the chunk. */
  private async flush(op: OpenOperation, last: boolean): Promise<void> {
    const operation = this.seal(op);
    if (this.outcome.stopped) return;
    const records = op.records;
    const lines = op.lines;
    const first = op.first;
    op.records = [];
    op.lines = [];
    op.first = op.next;
    if (!operation) return;
    if (op.late.length) {
      // Even `missing`: the records planned without it did not keep the keys its snapshot clear must spare.
      for (const name of op.late) {
        this.report({
          code: 'OPERATION_INVALID',
          detail: `"${name}" comes after more than ${this.ctx.limits.chunkRecords} payload records, which were already planned without it; put it before "payload"`,
          pointer: pointer(op.key, name),
          meta: { operation: op.key },
        });
      }
      op.late = [];
    }
    const lineOf = lines.length ? (index: number) => lines[index - first] : op.line !== undefined ? () => op.line : undefined;
    if (records.length) {
      const before = this.planning.list.length;
      const commands = await withSpan('sync.plan', { 'bulksync.entity': operation.entity.name, 'bulksync.records': records.length }, () =>
        planChunkPausing({ registry: this.ctx.registry, op: operation, records, firstIndex: first, problems: this.planning, inputs: this.ctx.inputs }, nextTurn),
      );
      const problems = this.planning.list.slice(before);
      if (lineOf) for (const p of problems) p.meta = { ...p.meta, line: typeof p.meta?.index === 'number' ? lineOf(p.meta.index) : op.line };
      this.planned(problems);
      await this.dispatch({ operation, commands, kind: 'records', problems, lineOf, records: records.length });
    }
    if (last) {
      const before = this.planning.list.length;
      const commands = planOperationEnd(this.ctx.registry, operation, this.planning, this.ctx.inputs);
      const problems = this.planning.list.slice(before);
      if (op.line !== undefined) for (const p of problems) p.meta = { ...p.meta, line: op.line };
      this.planned(problems);
      // Upserts always end with a chunk of their own: references to their records that waited are settled there.
      if (commands.length || (operation.action === 'upsert' && this.ctx.failOnError)) await this.dispatch({ operation, commands, kind: 'end', problems: [], lineOf, records: 0 });
    }
  }

  private async dispatch({ operation, commands, kind, problems, lineOf, records }: PlannedChunk): Promise<void> {
    let plan: OperationPlan = { operation, commands };
    let failedRecords = 0;
    if (problems.length) {
      const failed = new Set<number>();
      for (const p of problems) if (typeof p.meta?.index === 'number' && p.meta.index >= 0) failed.add(p.meta.index);
      plan = withoutRecords(plan, failed);
      failedRecords = failed.size;
      if (!this.ctx.failOnError) this.ctx.execution.refused(operation.key, failedRecords);
    }
    const needed = requiredPrivileges(this.ctx.registry, [plan]);
    const lacking = lackedPrivileges(this.ctx.privileges, needed.keys());
    if (lacking.length) return this.stop(...forbidden(lacking, needed));
    // Translation rows are part of their record (its translated fields), not records of their own.
    const rows = plan.commands.reduce((n, c) => n + (c.kind === 'upsert' ? (c.entity.translates ? 0 : c.rows.length) : c.kind === 'delete' ? c.keys.length : 0), 0);
    // The limit counts what will be written: nested records and mapping links too, not only the payloads' length.
    this.plannedRows += rows;
    if (this.plannedRows > this.ctx.limits.maxRecords) {
      return this.stop({
        code: 'PAYLOAD_TOO_MANY_RECORDS',
        detail: `the request holds at least ${this.plannedRows} records, nested records and links included; the limit is ${this.ctx.limits.maxRecords} per request (SYNC_MAX_RECORDS)`,
        pointer: '',
      });
    }
    const chunk: Chunk = { plan, kind, failedRecords, rows, lineOf };
    if (this.head) {
      // The request's head is gathered before the first write, so that the locks it needs are taken together, in
      // order: a request that fits in it (most do) locks exactly as a request planned whole.
      this.head.push({ chunk, records });
      this.headRows += rows;
      if (this.headRows < this.ctx.limits.chunkRecords) return;
      await this.startWriting();
      return;
    }
    await this.enqueue(chunk, records);
  }

  private head: { chunk: Chunk; records: number }[] | undefined = [];
  private headRows = 0;

  /** The head's locks in one go, then its chunks. */
  private async startWriting(): Promise<void> {
    const head = this.head;
    if (!head) return;
    this.head = undefined;
    const { execution } = this.ctx;
    this.queue.addTask(() => execution.lockAhead(head.map((h) => h.chunk)), (e) => (this.crash ??= e));
    for (const h of head) await this.enqueue(h.chunk, h.records);
  }

  private async enqueue(chunk: Chunk, records: number): Promise<void> {
    // Backpressure: wait while a chunk already waits for PostgreSQL; meanwhile nothing more is read.
    await this.queue.room();
    if (this.crash) return;
    const { execution } = this.ctx;
    // Read and planned: a long request (a job) shows how far the reading got while PostgreSQL writes.
    this.ctx.onProgress?.({ records: this.outcome.records, done: this.done });
    const written = async (upcoming: () => Chunk | undefined) => {
      await execution.run(chunk, upcoming);
      this.done += records;
      this.ctx.onProgress?.({ records: this.outcome.records, done: this.done });
    };
    this.queue.addChunk(chunk, written, (e) => (this.crash ??= e));
  }
}
