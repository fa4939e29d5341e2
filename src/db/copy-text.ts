/**
 * PostgreSQL's COPY text format (tab-separated, `\N` for NULL, backslash escapes), the form in which the write path
 * hands rows to `COPY … FROM STDIN`. Each value is parsed by its column's input function, as a `'…'::type` cast
 * would parse it, so the same values go in as with parameters, without the array literals around them.
 *
 * The text is written straight into Buffers of about COPY_CHUNK_BYTES, the form the connection sends: a line built
 * as a string first (a string per field joined per row, flattened, then encoded) left three copies of every row to
 * the garbage collector, which took a third of the service's CPU in a large sync.
 */

const SPECIAL = /[\\\n\r\t]/;
const SPECIAL_ALL = /[\\\n\r\t]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const TAB = 0x09;
const NEWLINE = 0x0a;

/** Bytes of COPY data sent per chunk: large enough that the stream's per-chunk cost vanishes, small enough to stay flat. */
export const COPY_CHUNK_BYTES = 256 * 1024;

/** Room past COPY_CHUNK_BYTES, so that the line that crosses it mostly fits the same Buffer. */
const SLACK_BYTES = 64 * 1024;

/** The COPY data of a batch of rows, filled field by field into Buffers of about COPY_CHUNK_BYTES. */
export class CopyWriter {
  private buf = Buffer.allocUnsafe(COPY_CHUNK_BYTES + SLACK_BYTES);
  private at = 0;
  private done: Buffer[] = [];

  /**
   * One value as a COPY text field: null and undefined are NULL; booleans t/f; strings escaped; the rest as
   * String(v).
   */
  field(v: unknown): void {
    if (typeof v === 'string') this.text(SPECIAL.test(v) ? v.replace(SPECIAL_ALL, (ch) => ESCAPES[ch]!) : v);
    else if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'number') this.plainField(v);
    else this.field(String(v));
  }

  /**
   * field() for values that cannot hold a character COPY treats specially: numbers, booleans, and ids validated (or
   * made) as UUIDs. No escape test per value (a fifth of the service's COPY text time went to it).
   */
  plainField(v: unknown): void {
    if (v === null || v === undefined) this.ascii('\\N');
    else if (typeof v === 'boolean') this.byte(v ? 0x74 : 0x66);
    // As UTF-8, as ever: a string here is a checked UUID, but a definition's default is not checked against its kind.
    else if (typeof v === 'string') this.text(v);
    else if (typeof v === 'number' && v >= 0 && v < 0x40000000 && Number.isInteger(v)) this.digits(v);
    else this.ascii(String(v));
  }

  /** A small non-negative integer (a row's ordinal, a stock) written digit by digit: no string per value. */
  private digits(n: number): void {
    let width = 1;
    for (let p = 10; p <= n; p *= 10) width++;
    this.room(width);
    for (let i = this.at + width - 1; i >= this.at; i--) {
      this.buf[i] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.at += width;
  }

  /** Between two fields of a line. */
  tab(): void {
    this.byte(TAB);
  }

  /** After a line's last field. */
  endLine(): void {
    this.byte(NEWLINE);
    if (this.at >= COPY_CHUNK_BYTES) this.cut();
  }

  /** Whether take() has Buffers to hand over. */
  get filled(): boolean {
    return this.done.length > 0;
  }

  /** The Buffers filled since the last call (one may end inside a line: COPY data is a stream of bytes). */
  take(): Buffer[] {
    const out = this.done;
    this.done = [];
    return out;
  }

  /** What is left, with take()'s. */
  finish(): Buffer[] {
    if (this.at) this.cut();
    return this.take();
  }

  /** A string of characters below 0x80 (a number, an id, \N). */
  private ascii(s: string): void {
    this.room(s.length);
    this.at += this.buf.write(s, this.at, 'latin1');
  }

  private text(s: string): void {
    // A UTF-16 unit takes at most 3 bytes of UTF-8 (a surrogate pair, two units, 4).
    this.room(3 * s.length);
    this.at += this.buf.write(s, this.at, 'utf8');
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  /** Makes room for `n` more bytes: a line may run over COPY_CHUNK_BYTES, and a single value may be larger. */
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    this.cut(n);
  }

  private cut(need = 0): void {
    if (this.at) this.done.push(this.buf.subarray(0, this.at));
    this.buf = Buffer.allocUnsafe(Math.max(COPY_CHUNK_BYTES + SLACK_BYTES, need));
    this.at = 0;
  }
}

/**
 * COPY data in Buffers of about COPY_CHUNK_BYTES, one line per row written by `line` (fields separated by tab(),
 * without the line's end). A generator, so that a large batch never exists as one Buffer.
 */
export function* copyChunks<T>(rows: readonly T[], line: (row: T, out: CopyWriter) => void): Generator<Buffer> {
  const out = new CopyWriter();
  // By index: for…of inside a generator made an iterator result per row.
  for (let i = 0; i < rows.length; i++) {
    line(rows[i]!, out);
    out.endLine();
    if (out.filled) yield* out.take();
  }
  yield* out.finish();
}
