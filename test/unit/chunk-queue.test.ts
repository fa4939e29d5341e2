import { ChunkQueue } from '../../src/sync/chunk-queue';
import type { Chunk } from '../../src/sync/commit/executor';
import type { OperationPlan } from '../../src/sync/types';

/** The queue between planning and the transaction: chunks one at a time, in order, each told the one after it. */
const chunk = (rows: number): Chunk => ({ plan: { commands: [] } as unknown as OperationPlan, kind: 'records', failedRecords: 0, rows });

function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => undefined as void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

describe('the chunk queue', () => {
  it('runs chunks in order, each told the chunk queued after it, even after a chunk failed', async () => {
    const q = new ChunkQueue();
    const seen: [number, number | undefined][] = [];
    const failures: unknown[] = [];
    const held = gate();
    const [a, b, c] = [chunk(1), chunk(2), chunk(3)];
    q.addChunk(a, async (next) => {
      await held.wait;
      seen.push([a.rows, next()?.rows]);
      throw new Error('a failed');
    }, (e) => failures.push(e));
    q.addChunk(b, async (next) => void seen.push([b.rows, next()?.rows]), (e) => failures.push(e));
    q.addChunk(c, async (next) => void seen.push([c.rows, next()?.rows]), (e) => failures.push(e));
    held.open();
    await q.onIdle();
    expect(seen).toEqual([[1, 2], [2, 3], [3, undefined]]);
    expect(failures).toEqual([new Error('a failed')]);
  });

  it('drops the chunks that wait: they never run, and the running one is told of none', async () => {
    const q = new ChunkQueue();
    const ran: number[] = [];
    let afterDrop: Chunk | undefined = chunk(0);
    const held = gate();
    q.addChunk(chunk(1), async (next) => {
      ran.push(1);
      await held.wait;
      afterDrop = next();
    }, () => undefined);
    q.addChunk(chunk(2), async () => void ran.push(2), () => undefined);
    await new Promise((r) => setImmediate(r));
    q.drop();
    held.open();
    await q.onIdle();
    expect(ran).toEqual([1]);
    expect(afterDrop).toBeUndefined();
  });

  it('holds back the next chunk while one waits (room)', async () => {
    const q = new ChunkQueue();
    const held = gate();
    q.addChunk(chunk(1), () => held.wait, () => undefined);
    q.addChunk(chunk(2), async () => undefined, () => undefined);
    let roomy = false;
    const room = q.room().then(() => (roomy = true));
    await new Promise((r) => setImmediate(r));
    expect(roomy).toBe(false);
    held.open();
    await room;
    expect(roomy).toBe(true);
    await q.onIdle();
  });
});
