import { IndexerSet } from '../../src/indexing/registry';
import { fingerprintedHeaders, parseSyncHeaders, preferences, storedHeaders, SYNC_HEADERS, syncHeaderParameters } from '../../src/sync/options';

const JSON_TYPE = { 'content-type': 'application/json' };
const indexers = new IndexerSet([]);
const refusal = (headers: Record<string, string>) => {
  const parsed = parseSyncHeaders({ ...JSON_TYPE, ...headers }, indexers);
  return parsed.ok ? 'accepted' : parsed.problems.map((p) => [p.code, p.meta?.header]);
};
const parse = (headers: Record<string, string>) => {
  const parsed = parseSyncHeaders({ ...JSON_TYPE, ...headers }, indexers);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.value;
};

describe('the table of sync headers', () => {
  it('dry-run: true or false in any case, absent is false, anything else HEADER_INVALID', () => {
    expect(parse({}).dryRun).toBe(false);
    expect(parse({ 'dry-run': ' TRUE ' }).dryRun).toBe(true);
    expect(parse({ 'dry-run': 'false' }).dryRun).toBe(false);
    for (const v of ['', '1', 'yes', 'maybe']) expect(refusal({ 'dry-run': v })).toEqual([['HEADER_INVALID', 'dry-run']]);
  });

  it('Idempotency-Key: 1 to 255 visible ASCII characters', () => {
    expect(parse({}).idempotencyKey).toBeUndefined();
    expect(parse({ 'idempotency-key': 'a' }).idempotencyKey).toBe('a');
    expect(parse({ 'idempotency-key': '~'.repeat(255) }).idempotencyKey).toHaveLength(255);
    for (const v of ['', 'x'.repeat(256), 'two words', 'tab\tkey', 'clé']) expect(refusal({ 'idempotency-key': v })).toEqual([['HEADER_INVALID', 'Idempotency-Key']]);
  });

  it('Prefer: the names of the preferences, whatever their parameters, spacing and case', () => {
    expect([...preferences('Respond-Async, return = minimal; foo=bar')]).toEqual(['respond-async', 'return=minimal']);
    expect(preferences(undefined).size).toBe(0);
    expect(parse({ prefer: 'respond-async' })).toMatchObject({ respondAsync: true, minimal: false });
  });

  it('every problem of every header at once; a body that is not JSON is BODY_NOT_JSON', () => {
    expect(refusal({ 'fail-on-error': 'maybe', 'indexing-behavior': 'later', 'content-encoding': 'zip' })).toEqual([
      ['BODY_NOT_JSON', undefined],
      ['HEADER_INVALID', 'fail-on-error'],
      ['HEADER_INVALID', 'indexing-behavior'],
    ]);
    expect(parseSyncHeaders({ 'content-type': 'text/plain' }, indexers)).toMatchObject({ ok: false, problems: [{ code: 'BODY_NOT_JSON' }] });
  });

  it('the typed options: language as sent, lenient sw-skip-trigger-flow, fail-on-error 1/0', () => {
    expect(parse({ 'sw-language-id': 'abc', 'sw-skip-trigger-flow': '1', 'fail-on-error': '0', 'content-encoding': 'GZIP' })).toMatchObject({
      language: 'abc',
      skipEvents: true,
      failOnError: false,
      encoding: 'gzip',
      format: 'json',
    });
    expect(parse({ 'sw-skip-trigger-flow': 'perhaps' }).skipEvents).toBe(false);
  });

  it('a job stores, and a fingerprint covers, what changes the request: sw-language-id too, never Authorization', () => {
    const sent = { authorization: 'Bearer x', 'x-request-id': 'r', 'fail-on-error': ' false ', 'content-type': 'application/json', 'sw-skip-trigger-flow': '1', 'sw-language-id': 'de', 'idempotency-key': 'k', 'single-operation': '1', 'content-encoding': 'gzip' };
    expect(storedHeaders(sent)).toEqual({ 'content-type': 'application/json', 'fail-on-error': 'false', 'sw-skip-trigger-flow': '1', 'sw-language-id': 'de' });
    expect(fingerprintedHeaders(sent)).toEqual({ 'content-type': 'application/json', 'content-encoding': 'gzip', 'fail-on-error': 'false', 'sw-skip-trigger-flow': '1', 'sw-language-id': 'de' });
  });

  it('reads no header the table does not name', () => {
    const read = new Set<string>();
    const headers = new Proxy({ ...JSON_TYPE } as Record<string, string>, {
      get(target, name) {
        if (typeof name === 'string') read.add(name);
        return target[name as string];
      },
    });
    parseSyncHeaders(headers, indexers);
    expect([...read].sort()).toEqual(SYNC_HEADERS.map((h) => h.name.toLowerCase()).sort());
  });

  it('documents every header but Content-Type (the request body) as a parameter, each under its own component', () => {
    const params = syncHeaderParameters(['product.search']);
    expect(params.map((p) => p.parameter.name)).toEqual(SYNC_HEADERS.filter((h) => h.openapi !== 'request-body').map((h) => h.name));
    expect(new Set(params.map((p) => p.component)).size).toBe(params.length);
    expect(params.find((p) => p.parameter.name === 'indexing-skip')!.parameter.description).toContain('product.search');
  });
});
