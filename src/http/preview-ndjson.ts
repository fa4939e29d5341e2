import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { Answer } from '../sync/answer';
import type { PreviewRecord, PreviewSink } from '../sync/preview-types';

/** The preview's NDJSON form is asked for by Accept (the request body's own type says nothing about the answer). */
export function wantsNdjson(req: Request): boolean {
  return /application\/(x-ndjson|ndjson|jsonl)/i.test(req.get('accept') ?? '');
}

/**
 * The per-record list of an NDJSON preview, spooled to a temporary file while the request runs: the answer goes out
 * only once the request is known to succeed (a failing one is an error answer, not half a preview), and a preview of
 * a million records costs disk, not memory.
 */
export class PreviewSpool implements PreviewSink {
  private out: WriteStream;

  private constructor(private readonly file: string) {
    this.out = createWriteStream(file);
  }

  static async open(): Promise<PreviewSpool> {
    const dir = await mkdtemp(path.join(tmpdir(), 'bulksync-preview-'));
    return new PreviewSpool(path.join(dir, 'records.ndjson'));
  }

  async write(record: PreviewRecord): Promise<void> {
    // Backpressure: the transaction waits for the disk rather than the heap holding the lines.
    if (!this.out.write(JSON.stringify(record) + '\n')) await once(this.out, 'drain');
  }

  async reset(): Promise<void> {
    await this.end();
    this.out = createWriteStream(this.file);
  }

  /** Sends the answer's body (the usual answer and the summary) as the first line, then the spooled records. */
  async send(res: Response, answer: Answer): Promise<void> {
    await this.end();
    res.status(answer.status);
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    res.setHeader('content-type', 'application/x-ndjson; charset=utf-8');
    res.write(JSON.stringify(answer.body) + '\n');
    await pipeline(createReadStream(this.file), res);
  }

  /** Removes the file (every way out of the request: answered, failed or abandoned). */
  async remove(): Promise<void> {
    this.out.destroy();
    await rm(path.dirname(this.file), { recursive: true, force: true });
  }

  private async end(): Promise<void> {
    if (this.out.writableFinished || this.out.destroyed) return;
    this.out.end();
    await once(this.out, 'finish');
  }
}
