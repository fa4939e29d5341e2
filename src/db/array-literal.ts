/**
 * A PostgreSQL array literal for an `unnest($n::<type>[])` parameter, built in one pass. node-pg builds the same text
 * from a JS array, but escapes and measures every element generically; for 10,000-row chunks of ids, numbers and
 * booleans that was a visible share of a sync's CPU (docs/PERFORMANCE.md).
 */
export function arrayLiteral(values: readonly unknown[], elementType: string): string {
  const quoted = elementType === 'text';
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = 'NULL';
    else if (typeof v === 'boolean') parts[i] = v ? 't' : 'f';
    else if (quoted || typeof v === 'string') parts[i] = `"${String(v).replace(/[\\"]/g, '\\$&')}"`;
    else parts[i] = String(v);
  }
  return `{${parts.join(',')}}`;
}
