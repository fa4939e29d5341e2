/**
 * Asserts that a Map-like class (a planned row's values, or a view of them) iterates as the Map `map` does: every
 * iterator, spreading, copying into a Map, and forEach with the object itself as its third argument.
 */
export function expectIteratesLike(values: Map<string, unknown>, map: ReadonlyMap<string, unknown>): void {
  expect(values.size).toBe(map.size);
  expect([...values]).toEqual([...map]);
  expect([...values.keys()]).toEqual([...map.keys()]);
  expect([...values.values()]).toEqual([...map.values()]);
  expect([...values.entries()]).toEqual([...map.entries()]);
  expect(new Map(values)).toEqual(map);
  const seen: [string, unknown][] = [];
  values.forEach((v, k, m) => {
    expect(m).toBe(values);
    seen.push([k, v]);
  });
  expect(seen).toEqual([...map]);
}
