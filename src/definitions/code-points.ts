/** Unicode code points of a string (a surrogate pair is one). */
export function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one: not Unicode text. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether a string holds a lone surrogate (JSON's "\ud800" escape): it has no UTF-8 form, so PostgreSQL would store
 * U+FFFD in its place. Refused instead, as Shopware's JSON decoding refuses it.
 */
export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** The same for every string and key of a JSON value. */
export function jsonHasLoneSurrogate(v: unknown): boolean {
  if (typeof v === 'string') return hasLoneSurrogate(v);
  if (Array.isArray(v)) return v.some(jsonHasLoneSurrogate);
  if (v !== null && typeof v === 'object') return Object.entries(v).some(([k, x]) => hasLoneSurrogate(k) || jsonHasLoneSurrogate(x));
  return false;
}

export const LONE_SURROGATE_MESSAGE = 'must be valid Unicode text: it holds a lone surrogate (a \\ud800–\\udfff escape without its pair)';
