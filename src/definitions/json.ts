/** A JSON object (not an array, not null): the shape of records, operations, filters and bodies. */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
