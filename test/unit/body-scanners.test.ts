import type { BodyEvent } from '../../src/sync/body/events';
import { JsonBodyScanner } from '../../src/sync/body/json-scanner';
import { NdjsonReader } from '../../src/sync/body/ndjson';

/**
 * The body readers get the body in network chunks that may end anywhere: inside a string, an escape, a multi-byte
 * character, between `\r` and `\n`. Whatever the cut, the events must be those of the whole body read at once.
 */
type Reader = { push(chunk: Buffer, out: BodyEvent[]): void; end(out: BodyEvent[]): void };

function events(make: () => Reader, parts: Buffer[]): BodyEvent[] {
  const reader = make();
  const out: BodyEvent[] = [];
  for (const p of parts) reader.push(p, out);
  reader.end(out);
  return out;
}

/** Every cut of the body into two chunks, and one chunk per byte, give the events of the whole body. */
function expectCutInvariant(make: () => Reader, text: string): BodyEvent[] {
  const body = Buffer.from(text);
  const whole = events(make, [body]);
  for (let cut = 0; cut <= body.length; cut++) {
    const split = events(make, [body.subarray(0, cut), body.subarray(cut)]);
    expect({ cut, events: split }).toEqual({ cut, events: whole });
  }
  expect(events(make, [...body].map((b) => Buffer.from([b])))).toEqual(whole);
  return whole;
}

const TRICKY = { name: 'Ünïcödé 🧵 "quoted" {braces} [brackets] , : \\ \\" \u00e9', nested: { list: [1, { a: '}' }], empty: {} }, n: -1.5e3, t: true, z: null };

describe('JSON body scanner: every cut point gives the same events', () => {
  const scanner = () => new JsonBodyScanner();

  it('keyed form with two operations, records holding every character that means something to the scanner', () => {
    const body = JSON.stringify({
      'write-tax': { entity: 'tax', action: 'upsert', payload: [{ name: 'a', taxRate: 7 }, TRICKY] },
      'delete-them': { action: 'delete', entity: 'product', payload: [{ id: 'x' }], mode: 'merge' },
    });
    const whole = expectCutInvariant(scanner, body);
    expect(whole.filter((e) => e.type === 'record').map((e) => (e as { value: unknown }).value)).toEqual([{ name: 'a', taxRate: 7 }, TRICKY, { id: 'x' }]);
    expect(whole.filter((e) => e.type === 'operation').map((e) => (e as { key?: string }).key)).toEqual(['write-tax', 'delete-them']);
  });

  it('list form, pretty-printed with \\r\\n, a property after the payload, an empty payload', () => {
    const body = JSON.stringify([{ entity: 'tax', payload: [TRICKY, 'key-as-string'], action: 'upsert' }, { entity: 'x', action: 'delete', payload: [] }], null, 2).replace(/\n/g, '\r\n');
    const whole = expectCutInvariant(scanner, body);
    expect(whole.filter((e) => e.type === 'record')).toHaveLength(2);
    expect(whole.at(-1)).toEqual({ type: 'end' });
  });

  it('a body that breaks off or is not JSON: the same problems wherever the chunks end', () => {
    for (const body of ['{"a": {"entity": "tax", "payload": [{"name": "x"}', '[{"entity": "tax"} {"entity": "x"}]', '{"a": nope}', '']) {
      const whole = expectCutInvariant(scanner, body);
      expect(whole.some((e) => e.type === 'invalid' && e.fatal)).toBe(true);
    }
  });
});

describe('NDJSON reader: every cut point gives the same events', () => {
  const reader = () => new NdjsonReader();

  it('headers and records, \\r\\n line ends, empty lines, multi-byte characters, no final newline', () => {
    const lines = [JSON.stringify({ operation: { entity: 'tax', action: 'upsert' } }), JSON.stringify(TRICKY), '', JSON.stringify({ name: '🧵' }), JSON.stringify({ operation: { entity: 'product', action: 'delete' } }), JSON.stringify({ id: 'x' })];
    const whole = expectCutInvariant(reader, lines.join('\r\n'));
    expect(whole.filter((e) => e.type === 'record').map((e) => (e as { line?: number }).line)).toEqual([2, 4, 6]);
    expectCutInvariant(reader, lines.join('\n') + '\n');
  });

  it('a line that is not JSON and a record before any header: the same problems, with their lines, wherever the chunks end', () => {
    const whole = expectCutInvariant(reader, ['{"name": "orphan"}', JSON.stringify({ operation: { entity: 'tax', action: 'upsert' } }), '{not json', '{"name": "ok"}'].join('\n'));
    expect(whole.filter((e) => e.type === 'invalid').map((e) => (e as { problem: { meta?: { line?: number } } }).problem.meta?.line)).toEqual([1, 3]);
  });
});
