/**
 * Opaque cursors: base64url-encoded JSON. Clients must treat them as tokens; the server validates every decoded
 * value before it reaches SQL (as a typed parameter, never as text of the statement).
 */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/** Long enough for a search sorted by several long strings; a search body is limited to 1 MB anyway. */
export const MAX_CURSOR_LENGTH = 256 * 1024;

/** Decodes a cursor to JSON, or undefined if it is not one of ours (wrong alphabet, not JSON). */
export function decodeCursor(cursor: string): unknown {
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}
