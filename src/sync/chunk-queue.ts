import PQueue from 'p-queue';
import type { Chunk } from './commit/executor';

/** Chunks that may wait for PostgreSQL while the next one is planned: the overlap, and the bound on memory. */
const WAITING_CHUNKS = 1;

/**
 * The request's chunks on their way to the transaction, one at a time, in order. A chunk's task is told the chunk
 * after it once that one is planned, so that the writer can encode that chunk's first rows while PostgreSQL still
 * runs the one before.
 */
export class ChunkQueue {
  private readonly queue = new PQueue({ concurrency: 1 });
  /** Chunks added and not begun, in order. */
  private readonly waiting: Chunk[] = [];

  /** Tasks running. */
  get pending(): number {
    return this.queue.pending;
  }

  /** Backpressure: resolves once no more than the allowed chunks wait (meanwhile nothing more is read). */
  room(): Promise<void> {
    return this.queue.onSizeLessThan(WAITING_CHUNKS);
  }

  /** Queues a task that is no chunk (the head's locks); its failure goes to `failed`. */
  addTask(task: () => Promise<void>, failed: (e: unknown) => void): void {
    this.queue.add(task).catch(failed);
  }

  /** Queues a chunk's task; it gets the chunk after, while that one waits. Its failure goes to `failed`. */
  addChunk(chunk: Chunk, task: (upcoming: () => Chunk | undefined) => Promise<void>, failed: (e: unknown) => void): void {
    this.waiting.push(chunk);
    this.queue
      .add(() => {
        this.waiting.shift();
        return task(() => this.waiting[0]);
      })
      .catch(failed);
  }

  /** What waits is not run. */
  drop(): void {
    this.queue.clear();
    this.waiting.length = 0;
  }

  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }
}
