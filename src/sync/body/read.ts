import { BodyReadError, type BodyEvent } from './events';
import { JsonBodyScanner } from './json-scanner';
import { NdjsonReader } from './ndjson';

export type BodyFormat = 'json' | 'ndjson';

/**
 * A body's bytes → its events, a batch per chunk read (a generator step per record would cost more than the
 * record). Reading is pulled: while the consumer works on a batch, the socket is not read (TCP backpressure).
 */
export async function* bodyEvents(bytes: AsyncIterable<Buffer | string>, format: BodyFormat): AsyncGenerator<BodyEvent[]> {
  const reader = format === 'ndjson' ? new NdjsonReader() : new JsonBodyScanner();
  try {
    for await (const chunk of bytes) {
      const out: BodyEvent[] = [];
      reader.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk, out);
      if (out.length) yield out;
      if (out.some((e) => e.type === 'invalid' && e.fatal)) return;
    }
  } catch (e) {
    if (!(e instanceof BodyReadError)) throw e;
    yield [{ type: 'invalid', fatal: true, problem: e.problem }];
    return;
  }
  const out: BodyEvent[] = [];
  reader.end(out);
  if (out.length) yield out;
}
