import path from 'node:path';
import { loadRegistry } from '../../src/definitions/registry';
import { collapse } from '../../src/read/changes';
import { comparePositions, decodeFeedCursor, encodeFeedCursor, FEED_START, parseChangesRequest } from '../../src/read/changes-request';

const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);

describe('change feed request', () => {
  it('defaults to every entity from the oldest retained entry, 1,000 at a time', () => {
    expect(parseChangesRequest(registry, {})).toEqual({ ok: true, request: { entities: [], since: FEED_START, resumed: false, limit: 1000 } });
  });

  it('round-trips 64-bit positions through an opaque cursor', () => {
    const p = { xid: 2n ** 63n - 1n, seq: 9_007_199_254_740_993n };
    const cursor = encodeFeedCursor(p);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeFeedCursor(cursor)).toEqual(p);
    const r = parseChangesRequest(registry, { since: cursor, entity: 'product, product_category', limit: '10' });
    expect(r).toEqual({ ok: true, request: { entities: ['product', 'product_category'], since: p, resumed: true, limit: 10 } });
  });

  it('orders positions by transaction id, then sequence', () => {
    expect(comparePositions({ xid: 2n, seq: 1n }, { xid: 1n, seq: 99n })).toBe(1);
    expect(comparePositions({ xid: 2n, seq: 1n }, { xid: 2n, seq: 2n })).toBe(-1);
    expect(comparePositions({ xid: 2n, seq: 2n }, { xid: 2n, seq: 2n })).toBe(0);
  });

  it.each([
    [{ since: 'eyJ4IjoiLTEiLCJzIjoiMCJ9' }, 'since'], // {"x":"-1","s":"0"}
    [{ since: Buffer.from('{"x":"1; DROP TABLE change_log","s":"0"}').toString('base64url') }, 'since'],
    [{ limit: '10001' }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ entity: 'product_variant' }, 'entity'],
    [{ cursor: 'x' }, 'cursor'],
  ])('refuses %j naming the parameter', (query, parameter) => {
    const r = parseChangesRequest(registry, query);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems[0]!.meta).toEqual({ parameter });
  });
});

describe('collapse', () => {
  const row = (xid: string, entity: string, id: string, op: string) => ({ xid, entity, key: { id }, op });

  it('lists a record once per transaction, at its last change, with its last op', () => {
    const rows = [row('1', 'tax', 'a', 'upsert'), row('1', 'tax', 'b', 'upsert'), row('1', 'tax', 'a', 'delete'), row('2', 'tax', 'a', 'upsert'), row('2', 'country', 'a', 'upsert')];
    expect(collapse(rows)).toEqual([rows[1], rows[2], rows[3], rows[4]]);
  });
});
