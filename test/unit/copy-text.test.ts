import { COPY_CHUNK_BYTES, copyChunks, CopyWriter } from '../../src/db/copy-text';

/** The COPY text of one line of fields, written as the write path writes it. */
function line(fields: readonly unknown[], plain = false): string {
  const chunks = [...copyChunks([fields], (row, out) => row.forEach((v, i) => (i && out.tab(), plain ? out.plainField(v) : out.field(v))))];
  return Buffer.concat(chunks).toString('utf8');
}

describe('COPY text', () => {
  it('escapes what the format treats specially, and tells NULL from the text \\N', () => {
    const cases: [unknown, string][] = [
      [null, '\\N'],
      [undefined, '\\N'],
      ['\\N', '\\\\N'],
      ['a\tb\nc\rd\\e', 'a\\tb\\nc\\rd\\\\e'],
      ['\\.', '\\\\.'],
      ['', ''],
      ['say "hi" {a,b} ü 🎉', 'say "hi" {a,b} ü 🎉'],
      [true, 't'],
      [false, 'f'],
      [-2.5, '-2.5'],
      [1e21, '1e+21'],
      [{ toString: () => 'a\tb' }, 'a\\tb'],
    ];
    expect(line(cases.map(([v]) => v))).toBe(cases.map(([, text]) => text).join('\t') + '\n');
  });

  it('writes numbers, booleans and ids without an escape test, as field() would', () => {
    const values = [null, undefined, true, false, 0, -2.5, 1e21, 42, 9, 10, 99, 100, 1_000_000, 0x3fffffff, 0x40000000, -7, 2 ** 53, 0.5, -0, '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'];
    expect(line(values, true)).toBe(line(values));
    // Integers are written digit by digit (no string per value): the same digits String() gives.
    expect(line([0, 7, 10, 99, 100, 1_073_741_823, 2000], true)).toBe('0\t7\t10\t99\t100\t1073741823\t2000\n');
    // Any other string keeps its characters (UTF-8), not the low byte of each: ĉ (U+0109) is not a tab.
    expect(line(['ĉĊč ü 🎉'], true)).toBe('ĉĊč ü 🎉\n');
  });

  it('sends one line per row in chunks of about COPY_CHUNK_BYTES, and nothing for no rows', () => {
    const rows = Array.from({ length: 50_000 }, (_, i) => i);
    const chunks = [...copyChunks(rows, (n, out) => (out.field(`row ${n} ü`), out.tab(), out.plainField(n)))];
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(COPY_CHUNK_BYTES);
    expect(Buffer.concat(chunks).toString('utf8').split('\n')).toEqual([...rows.map((n) => `row ${n} ü\t${n}`), '']);
    expect([...copyChunks([], (_, out) => out.field('x'))]).toEqual([]);
  });

  it('keeps a value larger than a chunk whole, and every character of a line that runs over a chunk', () => {
    const big = 'ä'.repeat(COPY_CHUNK_BYTES) + '🎉\t';
    const rows = ['start', big, 'x'.repeat(COPY_CHUNK_BYTES - 3), 'end'];
    const chunks = [...copyChunks(rows, (v, out) => (out.field(v), out.tab(), out.field(v.length)))];
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text).toBe(rows.map((v) => `${v.replace('\t', '\\t')}\t${v.length}\n`).join(''));
  });

  it('hands over nothing before a line ends that fits, and what is left at the end', () => {
    const out = new CopyWriter();
    out.field('a');
    out.endLine();
    expect(out.filled).toBe(false);
    expect(Buffer.concat(out.finish()).toString()).toBe('a\n');
    expect(out.finish()).toEqual([]);
  });
});
