/**
 * A planned row's values (API field name → database value, in the order they were set): the Map every later stage
 * reads, held in one array of name, value, name, value… sized for the values its record gives. A Map of a product's
 * nine values grew its hash table three times (about 900 bytes, a sixth of what a synced record allocated, all of it
 * garbage soon after); a row has few fields, so a scan finds a name as fast as a hash does.
 *
 * Unlike a Map: a value deleted while its row is iterated makes the iteration skip the next one, `instanceof Map` is
 * false, and JSON or structuredClone see the array. Nothing does either to a planned row; a stage that changes values
 * the plan must keep works on a copy (`new Map(row.values)`) or reads through a view of them (ResolvedValues).
 */
export class FieldValues implements Map<string, unknown> {
  private readonly slots: unknown[];
  private count = 0;

  /** `fields`: how many values the row will likely hold (what its record gives); more still fit. */
  constructor(fields = 4) {
    this.slots = new Array<unknown>(2 * fields);
  }

  get size(): number {
    return this.count;
  }

  private at(name: string): number {
    const s = this.slots;
    for (let i = 0; i < 2 * this.count; i += 2) if (s[i] === name) return i;
    return -1;
  }

  get(name: string): unknown {
    const i = this.at(name);
    return i < 0 ? undefined : this.slots[i + 1];
  }

  has(name: string): boolean {
    return this.at(name) >= 0;
  }

  set(name: string, value: unknown): this {
    const i = this.at(name);
    if (i >= 0) this.slots[i + 1] = value;
    else {
      this.slots[2 * this.count] = name;
      this.slots[2 * this.count + 1] = value;
      this.count++;
    }
    return this;
  }

  delete(name: string): boolean {
    const i = this.at(name);
    if (i < 0) return false;
    this.slots.copyWithin(i, i + 2, 2 * this.count);
    this.count--;
    this.slots[2 * this.count] = undefined;
    this.slots[2 * this.count + 1] = undefined;
    return true;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.count = 0;
  }

  forEach(fn: (value: unknown, name: string, map: Map<string, unknown>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.count; i++) fn.call(thisArg, this.slots[2 * i + 1], this.slots[2 * i] as string, this);
  }

  *entries(): MapIterator<[string, unknown]> {
    for (let i = 0; i < this.count; i++) yield [this.slots[2 * i] as string, this.slots[2 * i + 1]];
  }

  *keys(): MapIterator<string> {
    for (let i = 0; i < this.count; i++) yield this.slots[2 * i] as string;
  }

  *values(): MapIterator<unknown> {
    for (let i = 0; i < this.count; i++) yield this.slots[2 * i + 1];
  }

  [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'FieldValues';
  }
}
