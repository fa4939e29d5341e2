import { ApiError } from '../../src/errors';
import { meaningfulHeaders, parseDryRun, parseIdempotencyKey, preferences } from '../../src/http/sync-headers';

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e instanceof ApiError ? e.problems.map((p) => [p.code, p.meta?.header]) : e;
  }
  return 'accepted';
};

describe('headers of docs/imports.md', () => {
  it('dry-run: true or false in any case, absent is false, anything else HEADER_INVALID', () => {
    expect(parseDryRun({})).toBe(false);
    expect(parseDryRun({ 'dry-run': ' TRUE ' })).toBe(true);
    expect(parseDryRun({ 'dry-run': 'false' })).toBe(false);
    for (const v of ['', '1', 'yes', 'maybe']) expect(refusal(() => parseDryRun({ 'dry-run': v }))).toEqual([['HEADER_INVALID', 'dry-run']]);
  });

  it('Idempotency-Key: 1 to 255 visible ASCII characters', () => {
    expect(parseIdempotencyKey({})).toBeUndefined();
    expect(parseIdempotencyKey({ 'idempotency-key': 'a' })).toBe('a');
    expect(parseIdempotencyKey({ 'idempotency-key': '~'.repeat(255) })).toHaveLength(255);
    for (const v of ['', 'x'.repeat(256), 'two words', 'tab\tkey', 'clé']) {
      expect(refusal(() => parseIdempotencyKey({ 'idempotency-key': v }))).toEqual([['HEADER_INVALID', 'Idempotency-Key']]);
    }
  });

  it('Prefer: the names of the preferences, whatever their parameters, spacing and case', () => {
    expect([...preferences({ prefer: 'Respond-Async, return = minimal; foo=bar' })]).toEqual(['respond-async', 'return=minimal']);
    expect(preferences({}).size).toBe(0);
  });

  it('the meaningful headers are those that change what a sync does, never Authorization', () => {
    const h = meaningfulHeaders({ authorization: 'Bearer x', 'x-request-id': 'r', 'fail-on-error': ' false ', 'content-type': 'application/json', 'sw-skip-trigger-flow': '1' });
    expect(h).toEqual({ 'content-type': 'application/json', 'fail-on-error': 'false', 'sw-skip-trigger-flow': '1' });
  });
});
