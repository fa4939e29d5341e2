import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** What an interrupted import needs to go on: which batches of which file, sent how, are done. */
export interface CheckpointState {
  version: 1;
  /** Identity of the input file (size, mtime, first 64 KB) and of the settings that shape the batches. */
  runId: string;
  file: string;
  /** Every batch below this number is done. */
  doneBelow: number;
  /** Batches at or above doneBelow that are done (they finish out of order). */
  done: number[];
  counts: { written: number; skipped: number; failed: number };
  updatedAt: string;
}

/** Identity of a file's content as far as a resume cares: same size, same modification time, same first 64 KB. */
export function fileIdentity(file: string): string {
  if (file === '-') return `stdin:${randomUUID()}`;
  const st = fs.statSync(file);
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(Math.min(64 * 1024, st.size));
    fs.readSync(fd, head, 0, head.length, 0);
    return createHash('sha256').update(`${st.size}:${st.mtimeMs}:`).update(head).digest('hex');
  } finally {
    fs.closeSync(fd);
  }
}

/** The run's id: one hash of the file's identity and the settings; the base of every batch's Idempotency-Key. */
export function runIdOf(fileId: string, settings: unknown): string {
  return createHash('sha256').update(fileId).update(JSON.stringify(settings)).digest('hex').slice(0, 32);
}

/** `bulksync-<run>-<batch>`: 1–255 visible ASCII characters, the same for the same batch of the same file and settings. */
export function idempotencyKey(runId: string, batch: number, part = ''): string {
  return `bulksync-${runId}-${batch}${part}`;
}

/**
 * The checkpoint file: rewritten (to a temporary file, then renamed, so a crash never leaves half a file) each
 * time a batch is done.
 */
export class Checkpoint {
  private readonly done = new Set<number>();
  private state: CheckpointState;

  private constructor(
    readonly path: string,
    state: CheckpointState,
  ) {
    this.state = state;
    for (const b of state.done) this.done.add(b);
  }

  static fresh(file: string, runId: string, at: string): Checkpoint {
    return new Checkpoint(at, { version: 1, runId, file, doneBelow: 0, done: [], counts: { written: 0, skipped: 0, failed: 0 }, updatedAt: new Date().toISOString() });
  }

  /** The checkpoint at `at` if it belongs to this run; undefined when there is none; throws when it is another run's. */
  static load(at: string, runId: string): Checkpoint | undefined {
    if (!fs.existsSync(at)) return undefined;
    const state = JSON.parse(fs.readFileSync(at, 'utf8')) as CheckpointState;
    if (state.version !== 1 || state.runId !== runId) {
      throw new Error(
        `the checkpoint ${at} belongs to another run (the file changed since, or other options were given: entity, --map, --batch, --mode, --match-by, …); ` +
          'run again without --resume to start over',
      );
    }
    return new Checkpoint(at, state);
  }

  static defaultPath(file: string): string {
    return file === '-' ? path.resolve('stdin.bulksync-checkpoint.json') : `${path.resolve(file)}.bulksync-checkpoint.json`;
  }

  isDone(batch: number): boolean {
    return batch < this.state.doneBelow || this.done.has(batch);
  }

  get counts(): CheckpointState['counts'] {
    return this.state.counts;
  }

  get doneCount(): number {
    return this.state.doneBelow + this.done.size;
  }

  markDone(batch: number, counts: { written: number; skipped: number; failed: number }): void {
    this.done.add(batch);
    while (this.done.delete(this.state.doneBelow)) this.state.doneBelow++;
    this.state.counts.written += counts.written;
    this.state.counts.skipped += counts.skipped;
    this.state.counts.failed += counts.failed;
    this.save();
  }

  save(): void {
    this.state.done = [...this.done].sort((a, b) => a - b);
    this.state.updatedAt = new Date().toISOString();
    const tmp = `${this.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state) + '\n');
    fs.renameSync(tmp, this.path);
  }

  remove(): void {
    fs.rmSync(this.path, { force: true });
  }
}
