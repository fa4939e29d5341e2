import { isUtf8 } from 'node:buffer';
import type { BodyEvent } from './events';
import { syntaxError } from './syntax-error';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Where the scanner stands: at the top level, inside an operation, inside its payload. */
type Mode =
  | 'start' | 'top-key-or-end' | 'top-key' | 'top-colon' | 'top-next' | 'top-value-or-end'
  | 'op-value' | 'op-key-or-end' | 'op-key' | 'op-colon' | 'op-next' | 'prop-value'
  | 'payload-item-or-end' | 'payload-item' | 'payload-next' | 'done';

/**
 * Reads Shopware's JSON body shapes (`{"<key>": {operation}, …}` or `[{operation}, …]`) as they arrive and turns them
 * into body events. Only the three outer levels are tokenised here; every value below them (a record, an operation
 * property) is found by a byte scan of its bounds and handed whole to `JSON.parse`, which keeps per-record parsing at
 * native speed (measured here: a streaming tokeniser for every value costs 2–10× that).
 */
export class JsonBodyScanner {
  /** Bytes not yet consumed live in data[0, len); it grows by doubling while a long value is incomplete. */
  private data = Buffer.alloc(64 * 1024);
  private len = 0;
  private pos = 0;
  /** Bytes dropped from the front of `data`, for byte offsets in errors. */
  private dropped = 0;
  private mode: Mode = 'start';
  private started = false;
  private form: 'object' | 'list' = 'object';
  private opKey: string | undefined;
  private position = 0;
  private propName = '';
  /** Where the value being scanned starts, and the scan's state between chunks. */
  private tokenStart = -1;
  private scanAt = 0;
  private depth = 0;
  private inString = false;
  private stopped = false;

  /** Feeds the next bytes; events completed by them are appended to `out`. */
  push(chunk: Buffer, out: BodyEvent[]): void {
    if (this.stopped) return;
    this.append(chunk);
    while (!this.stopped && this.advance(out, false));
  }

  /** The body ended: whatever is incomplete is an error. */
  end(out: BodyEvent[]): void {
    if (this.stopped) return;
    while (!this.stopped && this.advance(out, true));
    if (this.stopped) return;
    if (!this.started) {
      this.fail(out, 'the body is empty');
      return;
    }
    if (this.mode !== 'done') this.fail(out, 'the body ends in the middle of the JSON document (cut off?)');
  }

  private append(chunk: Buffer): void {
    const keepFrom = this.tokenStart >= 0 ? this.tokenStart : this.pos;
    if (keepFrom > 0) {
      this.data.copyWithin(0, keepFrom, this.len);
      this.len -= keepFrom;
      this.pos -= keepFrom;
      this.scanAt -= keepFrom;
      if (this.tokenStart >= 0) this.tokenStart -= keepFrom;
      this.dropped += keepFrom;
    }
    if (this.len + chunk.length > this.data.length) {
      const grown = Buffer.alloc(Math.max(this.data.length * 2, this.len + chunk.length));
      this.data.copy(grown, 0, 0, this.len);
      this.data = grown;
    }
    chunk.copy(this.data, this.len);
    this.len += chunk.length;
  }

  private fail(out: BodyEvent[], detail: string): false {
    this.stopped = true;
    out.push({ type: 'invalid', fatal: true, problem: { code: 'BODY_NOT_JSON', detail, pointer: '' } });
    return false;
  }

  private unexpected(out: BodyEvent[], expected: string): false {
    const c = this.data[this.pos]!;
    const shown = c >= 0x20 && c < 0x7f ? `"${String.fromCharCode(c)}"` : `byte 0x${c.toString(16)}`;
    return this.fail(out, `the body is not valid JSON: expected ${expected} at byte ${this.dropped + this.pos}, found ${shown}`);
  }

  /** Skips white space; false when the input ran out. */
  private skipSpace(): boolean {
    const d = this.data;
    while (this.pos < this.len && isSpace(d[this.pos]!)) this.pos++;
    return this.pos < this.len;
  }

  /**
   * Scans the JSON value starting at `tokenStart` for its end (strings, nesting); resumable across chunks. Returns
   * the index just past it, or -1 while it is incomplete. Brackets are only counted: their pairing, and everything
   * else about the value, is checked by JSON.parse.
   */
  private scanValue(atEnd: boolean): number {
    const d = this.data;
    const end = this.len;
    let i = this.scanAt;
    let depth = this.depth;
    let inString = this.inString;
    while (i < end) {
      if (inString) {
        const q = d.indexOf(QUOTE, i);
        if (q < 0 || q >= end) {
          i = end;
          break;
        }
        let backslashes = 0;
        for (let b = q - 1; d[b] === BACKSLASH; b--) backslashes++;
        i = q + 1;
        if (backslashes % 2 === 1) continue;
        inString = false;
        if (depth === 0) return this.scanned(i);
        continue;
      }
      const c = d[i]!;
      if (c === QUOTE) inString = true;
      else if (c === OPEN_OBJECT || c === OPEN_LIST) depth++;
      else if (c === CLOSE_OBJECT || c === CLOSE_LIST) {
        if (depth === 0) return this.scanned(i);
        if (--depth === 0) return this.scanned(i + 1);
      } else if (depth === 0 && (c === COMMA || isSpace(c))) return this.scanned(i);
      i++;
    }
    this.scanAt = i;
    this.depth = depth;
    this.inString = inString;
    // A number, true, false or null that ends the body has no delimiter after it.
    if (atEnd && !inString && depth === 0 && i > this.tokenStart) return this.scanned(i);
    return -1;
  }

  private scanned(end: number): number {
    this.depth = 0;
    this.inString = false;
    return end;
  }

  /** The next complete value at `pos`, parsed; undefined while incomplete; `failed` when it is not JSON. */
  private readValue(out: BodyEvent[], atEnd: boolean): { value: unknown } | undefined | 'failed' {
    if (this.tokenStart < 0) {
      this.tokenStart = this.pos;
      this.scanAt = this.pos;
    }
    const end = this.scanValue(atEnd);
    if (end < 0) return undefined;
    const start = this.tokenStart;
    this.tokenStart = -1;
    if (end === start) {
      this.unexpected(out, 'a value');
      return 'failed';
    }
    const bytes = this.data.subarray(start, end);
    this.pos = end;
    if (!isUtf8(bytes)) {
      this.fail(out, 'the body is not valid UTF-8');
      return 'failed';
    }
    try {
      return { value: JSON.parse(bytes.toString('utf8')) };
    } catch (e) {
      this.fail(out, syntaxError(e as Error, bytes.toString('utf8'), this.dropped + start));
      return 'failed';
    }
  }

  /** One step of the outer grammar; false when it needs more input (or stopped). */
  private advance(out: BodyEvent[], atEnd: boolean): boolean {
    const d = this.data;
    switch (this.mode) {
      case 'start': {
        // A UTF-8 byte order mark is tolerated, as JSON.parse of a decoded body would.
        if (!this.started && this.len - this.pos >= 3 && d[this.pos] === 0xef && d[this.pos + 1] === 0xbb && d[this.pos + 2] === 0xbf) this.pos += 3;
        if (!this.skipSpace()) return false;
        this.started = true;
        const c = d[this.pos++];
        if (c === OPEN_OBJECT) this.mode = 'top-key-or-end';
        else if (c === OPEN_LIST) this.mode = 'top-value-or-end';
        if (c === OPEN_OBJECT || c === OPEN_LIST) this.form = c === OPEN_OBJECT ? 'object' : 'list';
        else {
          this.pos--;
          const v = this.readValue(out, atEnd);
          if (v === undefined || v === 'failed') return false;
          this.stopped = true;
          out.push({
            type: 'invalid',
            fatal: true,
            problem: { code: 'OPERATION_INVALID', detail: 'the body must be an object of operations keyed by name, or a list of operations', pointer: '' },
          });
          return false;
        }
        return true;
      }
      case 'top-key-or-end':
      case 'top-key':
      case 'op-key-or-end':
      case 'op-key': {
        if (!this.skipSpace()) return false;
        const top = this.mode.startsWith('top');
        if (this.mode.endsWith('or-end') && d[this.pos] === CLOSE_OBJECT) {
          this.pos++;
          if (!top) out.push({ type: 'end' });
          this.mode = top ? 'done' : 'top-next';
          return true;
        }
        if (d[this.pos] !== QUOTE) return this.unexpected(out, top ? 'an operation key in quotes' : 'a property name in quotes');
        const v = this.readValue(out, atEnd);
        if (v === undefined || v === 'failed') return false;
        if (top) this.opKey = v.value as string;
        else this.propName = v.value as string;
        this.mode = top ? 'top-colon' : 'op-colon';
        return true;
      }
      case 'top-colon':
      case 'op-colon': {
        if (!this.skipSpace()) return false;
        if (d[this.pos] !== COLON) return this.unexpected(out, '":"');
        this.pos++;
        if (this.mode === 'top-colon') this.mode = 'op-value';
        else if (this.propName === 'payload') {
          if (!this.skipSpace()) {
            this.mode = 'prop-value';
            return false;
          }
          if (d[this.pos] === OPEN_LIST) {
            this.pos++;
            out.push({ type: 'payload' });
            this.mode = 'payload-item-or-end';
          } else this.mode = 'prop-value';
        } else this.mode = 'prop-value';
        return true;
      }
      case 'prop-value': {
        if (!this.skipSpace()) return false;
        // `"payload": [` seen only now (the colon ended a chunk).
        if (this.propName === 'payload' && this.tokenStart < 0 && d[this.pos] === OPEN_LIST) {
          this.pos++;
          out.push({ type: 'payload' });
          this.mode = 'payload-item-or-end';
          return true;
        }
        const v = this.readValue(out, atEnd);
        if (v === undefined || v === 'failed') return false;
        out.push({ type: 'property', name: this.propName, value: v.value });
        this.mode = 'op-next';
        return true;
      }
      case 'top-value-or-end':
        if (!this.skipSpace()) return false;
        if (d[this.pos] === CLOSE_LIST) {
          this.pos++;
          this.mode = 'done';
          return true;
        }
        this.opKey = undefined;
        this.mode = 'op-value';
        return true;
      case 'op-value': {
        if (!this.skipSpace()) return false;
        if (this.tokenStart < 0 && d[this.pos] === OPEN_OBJECT) {
          this.pos++;
          out.push({ type: 'operation', key: this.opKey, position: this.position++ });
          this.mode = 'op-key-or-end';
          return true;
        }
        const v = this.readValue(out, atEnd);
        if (v === undefined || v === 'failed') return false;
        out.push({ type: 'operation', key: this.opKey, position: this.position++, notAnObject: true }, { type: 'end' });
        this.mode = 'top-next';
        return true;
      }
      case 'op-next':
      case 'top-next': {
        if (!this.skipSpace()) return false;
        const c = d[this.pos];
        const inOp = this.mode === 'op-next';
        const close = inOp || this.form === 'object' ? CLOSE_OBJECT : CLOSE_LIST;
        if (c === COMMA) {
          this.pos++;
          this.mode = inOp ? 'op-key' : this.form === 'object' ? 'top-key' : 'op-value';
          return true;
        }
        if (c === close) {
          this.pos++;
          if (inOp) out.push({ type: 'end' });
          this.mode = inOp ? 'top-next' : 'done';
          return true;
        }
        return this.unexpected(out, `"," or "${String.fromCharCode(close)}"`);
      }
      case 'payload-item-or-end':
      case 'payload-item': {
        if (!this.skipSpace()) return false;
        if (this.mode === 'payload-item-or-end' && this.tokenStart < 0 && d[this.pos] === CLOSE_LIST) {
          this.pos++;
          this.mode = 'op-next';
          return true;
        }
        const v = this.readValue(out, atEnd);
        if (v === undefined || v === 'failed') return false;
        out.push({ type: 'record', value: v.value });
        this.mode = 'payload-next';
        return true;
      }
      case 'payload-next': {
        if (!this.skipSpace()) return false;
        const c = d[this.pos];
        if (c === COMMA) {
          this.pos++;
          this.mode = 'payload-item';
          return true;
        }
        if (c === CLOSE_LIST) {
          this.pos++;
          this.mode = 'op-next';
          return true;
        }
        return this.unexpected(out, '"," or "]"');
      }
      case 'done':
        if (!this.skipSpace()) return false;
        return this.unexpected(out, 'the end of the body');
    }
  }
}
