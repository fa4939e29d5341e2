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

/** A new time-ordered id (UUIDv7), in database spelling. */
export function newDbId(): string {
  return uuidv7();
}
