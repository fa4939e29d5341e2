import path from 'node:path';
import { loadRegistry } from '../../src/definitions/registry';
import { ResolvedValues } from '../../src/sync/commit/resolved-values';
import { FieldValues } from '../../src/sync/plan/field-values';
import { PendingRef } from '../../src/sync/plan/pending';
import { expectIteratesLike } from '../support/map-like';

const product = loadRegistry([path.resolve(__dirname, '../../schemas')]).get('product');
const pending = () => new PendingRef({ target: product, candidates: [], nullOnMissing: true, ref: { op: 'o', index: 0, path: [] }, at: 'id', isOwnKey: true });

/** What the view must read as: the planned values with each reference replaced by its id. */
const expected = (planned: ReadonlyMap<string, unknown>) => new Map([...planned].map(([k, v]) => [k, v instanceof PendingRef ? v.id : v]));

describe('ResolvedValues (a planned row read as one attempt resolved it)', () => {
  it('reads every pending reference as its id, through every Map question, and leaves the plan as it was', () => {
    const own = pending();
    const tax = pending();
    const planned = new FieldValues(4).set('id', own).set('name', 'A').set('taxId', tax).set('stock', undefined);
    own.id = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    tax.id = null;
    const view = new ResolvedValues(planned);
    const map = expected(planned);
    expect(view.size).toBe(4);
    for (const name of ['id', 'name', 'taxId', 'stock', 'weight']) {
      expect(view.get(name)).toBe(map.get(name));
      expect(view.has(name)).toBe(map.has(name));
    }
    expectIteratesLike(view, map);
    expect(planned.get('id')).toBe(own);
  });

  it('takes values of its own at the first change, resolved as they read, and the plan keeps its references', () => {
    const own = pending();
    const planned = new FieldValues(2).set('id', own).set('name', 'A');
    own.id = 'x';
    const view = new ResolvedValues(planned);
    view.set('name', 'B').set('stock', 3);
    expect([...view]).toEqual([['id', 'x'], ['name', 'B'], ['stock', 3]]);
    expect(view.delete('stock')).toBe(true);
    expect(view.size).toBe(2);
    // Another attempt forgets the resolution: the plan still holds the reference, the changed view its id.
    own.reset();
    expect([...planned]).toEqual([['id', own], ['name', 'A']]);
    expect(view.get('id')).toBe('x');
    view.clear();
    expect(view.size).toBe(0);
    expect(planned.size).toBe(2);
  });

  it('reads what the attempt resolved at the time it reads, so a view made before the lookups sees their ids', () => {
    const own = pending();
    const view = new ResolvedValues(new FieldValues(1).set('id', own));
    expect(view.get('id')).toBeUndefined();
    own.id = 'y';
    expect(view.get('id')).toBe('y');
  });
});
