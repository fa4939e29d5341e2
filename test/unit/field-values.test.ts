import { FieldValues } from '../../src/sync/plan/field-values';
import { expectIteratesLike } from '../support/map-like';

describe('FieldValues (a planned row\'s values)', () => {
  it('answers every Map question as a Map would, through a long mix of sets, overwrites and deletes', () => {
    const names = ['id', 'name', 'stock', 'price', 'taxId', 'active', 'ean', 'weight', 'a', 'b', 'c', 'd'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (const capacity of [0, 2, 4, 20]) {
      const values = new FieldValues(capacity);
      const map = new Map<string, unknown>();
      for (let step = 0; step < 2000; step++) {
        const name = names[next() % names.length]!;
        const r = next() % 10;
        if (r < 6) {
          const v = r === 0 ? null : r === 1 ? undefined : step;
          expect(values.set(name, v)).toBe(values);
          map.set(name, v);
        } else if (r < 9) expect(values.delete(name)).toBe(map.delete(name));
        else if (step % 100 === 9) {
          values.clear();
          map.clear();
        }
        expect(values.size).toBe(map.size);
        expect(values.get(name)).toBe(map.get(name));
        expect(values.has(name)).toBe(map.has(name));
        expect([...values]).toEqual([...map]);
      }
      expectIteratesLike(values, map);
    }
  });

  it('tells a value set to undefined from a name never set, as a Map does', () => {
    const values = new FieldValues(1).set('a', undefined);
    expect(values.has('a')).toBe(true);
    expect(values.has('b')).toBe(false);
    expect(values.size).toBe(1);
    expect(Object.prototype.toString.call(values)).toBe('[object FieldValues]');
  });
});
