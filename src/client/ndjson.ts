import type { JsonRecord, NdjsonOperationHeader } from './types';

/** An operation of an NDJSON body: its header, then its records (or keys), produced lazily. */
export interface NdjsonOperation {
  header: NdjsonOperationHeader;
  records: Iterable<JsonRecord> | AsyncIterable<JsonRecord>;
}

/**
 * The lines of an `application/x-ndjson` sync body (docs/sync-api.md "NDJSON"): `{"operation": {…}}`, then one
 * record per line. Lines are grouped into chunks of about `chunkBytes` so that the stream does not make one write per
 * record.
 */
export async function* ndjsonChunks(operations: Iterable<NdjsonOperation> | AsyncIterable<NdjsonOperation>, chunkBytes = 64 * 1024): AsyncGenerator<Uint8Array> {
  const encoder = new TextEncoder();
  let buffer = '';
  for await (const op of operations) {
    buffer += JSON.stringify({ operation: op.header }) + '\n';
    for await (const record of op.records) {
      buffer += JSON.stringify(record) + '\n';
      if (buffer.length >= chunkBytes) {
        yield encoder.encode(buffer);
        buffer = '';
      }
    }
  }
  if (buffer) yield encoder.encode(buffer);
}

/** A web ReadableStream over an async iterator of chunks, pulled only as fast as the socket takes them. */
export function streamOf(chunks: AsyncIterator<Uint8Array>): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await chunks.return?.(undefined);
    },
  });
}
