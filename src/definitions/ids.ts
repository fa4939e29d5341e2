import { v7 as uuidv7 } from 'uuid';

const HEX32 = /^[0-9a-f]{32}$/i;
const DASHED = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for the two accepted spellings of a UUID: 32 hex characters, or the dashed form. */
export function isId(v: unknown): v is string {
  return typeof v === 'string' && (HEX32.test(v) || DASHED.test(v));
}

/** The API spelling: 32 lowercase hex characters. */
export function toApiId(v: string): string {
  // The database spelling (8-4-4-4-12), by far the most common input: cut it, no regular expression per id.
  if (v.length === 36 && v[8] === '-' && v[13] === '-' && v[18] === '-' && v[23] === '-') {
    return (v.slice(0, 8) + v.slice(9, 13) + v.slice(14, 18) + v.slice(19, 23) + v.slice(24)).toLowerCase();
  }
  return v.replace(/-/g, '').toLowerCase();
}

/** The spelling PostgreSQL's uuid input expects (it accepts both, but one spelling makes keys comparable). */
export function toDbId(v: string): string {
  // The API spelling, as payloads send ids: cut straight from it (no intermediate string per id).
  if (v.length === 32) {
    const h = v.toLowerCase();
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  // Already the database spelling, as read back from PostgreSQL.
  if (v.length === 36 && v[8] === '-' && v[13] === '-' && v[18] === '-' && v[23] === '-' && v === v.toLowerCase()) return v;
  const h = toApiId(v);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The last two ids spelled, the most recent first: a foreign key (the tax of every product, the language of every
 * translation row) repeats from record to record, but between two of its records comes the record's own id, which a
 * cache of one entry would have kept instead (and spelled the tax id anew for every product).
 */
class LastTwo {
  private in0: string | undefined;
  private out0 = '';
  private in1: string | undefined;
  private out1 = '';

  get(v: string): string | undefined {
    if (v === this.in0) return this.out0;
    if (v !== this.in1) return undefined;
    const out = this.out1;
    this.in1 = this.in0;
    this.out1 = this.out0;
    this.in0 = v;
    this.out0 = out;
    return out;
  }

  set(v: string, out: string): string {
    this.in1 = this.in0;
    this.out1 = this.out0;
    this.in0 = v;
    this.out0 = out;
    return out;
  }
}

/**
 * toDbId and toApiId for a value known to be a UUID: validated (isId) or read from a uuid column. Every record of a
 * sync spells its ids both ways (a key into the database, a written key into the answer): 0.3-0.5 µs each with slices
 * and toLowerCase, half that built in one string. A UUID's characters are digits and a-f/A-F, which setting bit 0x20
 * lowercases exactly.
 */
const dbSpelled = new LastTwo();
export function uuidToDb(v: string): string {
  const known = dbSpelled.get(v);
  if (known !== undefined) return known;
  if (v.length !== 32) return toDbId(v);
  const c = (i: number) => v.charCodeAt(i) | 0x20;
  const out = String.fromCharCode(
    c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), 0x2d, c(8), c(9), c(10), c(11), 0x2d, c(12), c(13), c(14), c(15), 0x2d,
    c(16), c(17), c(18), c(19), 0x2d, c(20), c(21), c(22), c(23), c(24), c(25), c(26), c(27), c(28), c(29), c(30), c(31),
  );
  return dbSpelled.set(v, out);
}

/**
 * An id as payloads send it (32 hex characters, either case) in the database spelling, checked in the same pass; else
 * undefined (the caller checks the value the general way, with its message). No regular expression per id.
 */
export function hexToDbId(v: string): string | undefined {
  if (v.length !== 32) return undefined;
  for (let i = 0; i < 32; i++) {
    const c = v.charCodeAt(i);
    const letter = c | 0x20;
    if (!((c >= 0x30 && c <= 0x39) || (letter >= 0x61 && letter <= 0x66))) return undefined;
  }
  return uuidToDb(v);
}

const apiSpelled = new LastTwo();
export function uuidToApi(v: string): string {
  const known = apiSpelled.get(v);
  if (known !== undefined) return known;
  if (v.length !== 36 || v[8] !== '-' || v[13] !== '-' || v[18] !== '-' || v[23] !== '-') return toApiId(v);
  const c = (i: number) => v.charCodeAt(i) | 0x20;
  const out = String.fromCharCode(
    c(0), c(1), c(2), c(3), c(4), c(5), c(6), c(7), c(9), c(10), c(11), c(12), c(14), c(15), c(16), c(17),
    c(19), c(20), c(21), c(22), c(24), c(25), c(26), c(27), c(28), c(29), c(30), c(31), c(32), c(33), c(34), c(35),
  );
  return apiSpelled.set(v, out);
}

/** A new time-ordered id (UUIDv7), in database spelling. */
export function newDbId(): string {
  return uuidv7();
}
