import { COPY_CHUNK_CHARS, copyChunks, copyField, copyPlainField } from '../../src/db/copy-text';

describe('COPY text', () => {
  it('escapes what the format treats specially, and tells NULL from the text \\N', () => {
    expect(copyField(null)).toBe('\\N');
    expect(copyField(undefined)).toBe('\\N');
    expect(copyField('\\N')).toBe('\\\\N');
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField('\\.')).toBe('\\\\.');
    expect(copyField('')).toBe('');
    expect(copyField('say "hi" {a,b} ü 🎉')).toBe('say "hi" {a,b} ü 🎉');
    expect(copyField(true)).toBe('t');
    expect(copyField(false)).toBe('f');
    expect(copyField(-2.5)).toBe('-2.5');
    expect(copyField(1e21)).toBe('1e+21');
  });

  it('writes numbers, booleans and ids without an escape test, as copyField would', () => {
    for (const v of [null, undefined, true, false, 0, -2.5, 1e21, 42, '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b']) expect(copyPlainField(v)).toBe(copyField(v));
  });

  it('sends one line per row in chunks of about COPY_CHUNK_CHARS, and nothing for no rows', () => {
    const rows = Array.from({ length: 50_000 }, (_, i) => i);
    const chunks = [...copyChunks(rows, (n) => `row ${n}`)];
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(COPY_CHUNK_CHARS);
    expect(chunks.join('').split('\n')).toEqual([...rows.map((n) => `row ${n}`), '']);
    expect([...copyChunks([], () => 'x')]).toEqual([]);
  });
});
