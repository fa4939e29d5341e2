import path from 'node:path';
import { loadRegistry } from '../../src/definitions/registry';
import { candidateKey, PendingRef, type MatchCandidate } from '../../src/sync/plan/pending';

const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const product = registry.get('product');
const one = (v: unknown): MatchCandidate => ({ fields: [product.fields.externalId!], values: [v] });
const two = (a: unknown, b: unknown): MatchCandidate => ({ fields: [product.fields.productNumber!, product.fields.externalId!], values: [a, b] });
const pending = (id?: string | null) => {
  const p = new PendingRef({ target: product, candidates: [], nullOnMissing: true, ref: { op: 'o', index: 0, path: [] }, at: 'id', isOwnKey: false });
  p.id = id;
  return p;
};

describe('candidateKey (what records matched by the same values share)', () => {
  it('gives equal values of one key the same key, and different values different keys', () => {
    expect(candidateKey(one('erp-1'))).toBe(candidateKey(one('erp-1')));
    expect(candidateKey(one('erp-1'))).not.toBe(candidateKey(one('erp-2')));
    // A value read back from the database as a number and the same value planned as a number agree.
    expect(candidateKey(one(5))).toBe(candidateKey(one(5)));
    expect(candidateKey(two('a', 'b'))).toBe(candidateKey(two('a', 'b')));
    expect(candidateKey(two('a,b', 'c'))).not.toBe(candidateKey(two('a', 'b,c')));
  });

  it('takes a resolved reference as its id, and has no key while a part is unresolved', () => {
    expect(candidateKey(one(pending('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b')))).toBe(candidateKey(one('0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b')));
    expect(candidateKey(one(pending()))).toBeUndefined();
    expect(candidateKey(one(pending(null)))).toBeUndefined();
    expect(candidateKey(two(pending(), 'b'))).toBeUndefined();
    expect(candidateKey(two(pending('x'), 'b'))).toBe(candidateKey(two('x', 'b')));
  });
});
