import path from 'node:path';
import { loadRegistry } from '../../src/definitions/registry';
import { SyncResult } from '../../src/sync/result';

/** What a chunk's written keys become in the answer: `data` in the API spelling, `unchanged` beside it. */
const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const product = registry.get('product');
const translation = registry.get('product_translation');
const ids = ['0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a01', '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a02', '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a03'];
const lang = '2fbb5fe2-e29a-4d70-aa58-54ce7ce3e20b';

describe('SyncResult.addWritten', () => {
  it('lists every key under data and the ones stored as sent under unchanged, in order, as the API spells them', () => {
    const result = new SyncResult();
    result.addWritten(product, ids.map((id) => ({ id })), (i) => i !== 1);
    result.addWritten(translation, ids.map((id) => ({ productId: id, languageId: lang })), (i) => i === 2);
    expect(result.data.get('product')).toEqual(['0190a1b2c3d47e5f8a9b0c1d2e3f4a01', '0190a1b2c3d47e5f8a9b0c1d2e3f4a02', '0190a1b2c3d47e5f8a9b0c1d2e3f4a03']);
    expect(result.unchanged.get('product')).toEqual(['0190a1b2c3d47e5f8a9b0c1d2e3f4a01', '0190a1b2c3d47e5f8a9b0c1d2e3f4a03']);
    expect(result.unchanged.get('product_translation')).toEqual([{ productId: '0190a1b2c3d47e5f8a9b0c1d2e3f4a03', languageId: '2fbb5fe2e29a4d70aa5854ce7ce3e20b' }]);
    expect(result.count('data')).toBe(6);
    expect(result.count('unchanged')).toBe(3);
    // Shopware's shape: `unchanged` is not part of the full answer.
    expect(Object.keys(result.toJSON())).toEqual(['extensions', 'data', 'notFound', 'deleted']);
  });

  it('adds to what earlier chunks listed, and leaves unchanged out while nothing was stored as sent', () => {
    const result = new SyncResult();
    result.addWritten(product, [{ id: ids[0]! }], () => false);
    expect(result.unchanged.has('product')).toBe(false);
    result.addWritten(product, [{ id: ids[1]! }], () => true);
    expect(result.data.get('product')).toHaveLength(2);
    expect(result.unchanged.get('product')).toEqual(['0190a1b2c3d47e5f8a9b0c1d2e3f4a02']);
  });

  it('with return=minimal keeps counts only', () => {
    const result = new SyncResult(true);
    result.addWritten(product, ids.map((id) => ({ id })), (i) => i === 0);
    expect(result.data.size).toBe(0);
    expect(result.toJSON()).toMatchObject({ counts: { data: { product: 3 }, unchanged: { product: 1 } } });
  });
});
