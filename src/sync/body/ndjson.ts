import { isUtf8 } from 'node:buffer';
import { isObject } from '../../definitions/json';
import type { Problem } from '../../errors';
import type { BodyEvent } from './events';

const NEWLINE = 0x0a;

/**
 * Reads an NDJSON body (one JSON value per line, docs/sync-api.md "NDJSON"): a line `{"operation": {…}}` starts an operation,
 * every other line is one payload item of the last one. Lines are counted from 1, empty lines included, and every
 * event carries its line.
 */
export class NdjsonReader {
  private rest: Buffer[] = [];
  private line = 0;
  private position = 0;
  private inOperation = false;
  /** The current operation has had a record line (its payload started). */
  private hasRecords = false;
  private sawAny = false;

  push(chunk: Buffer, out: BodyEvent[]): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      const part = chunk.subarray(start, nl);
      if (this.rest.length) {
        this.rest.push(part);
        this.onLine(Buffer.concat(this.rest), out);
        this.rest = [];
      } else this.onLine(part, out);
      start = nl + 1;
    }
    if (start < chunk.length) this.rest.push(chunk.subarray(start));
  }

  end(out: BodyEvent[]): void {
    if (this.rest.length) {
      this.onLine(Buffer.concat(this.rest), out);
      this.rest = [];
    }
    if (this.inOperation) out.push({ type: 'end' });
    // Lines, but never an operation header: most likely a JSON body sent with the NDJSON content type. Fatal: it
    // says more than the complaints about its lines, which it replaces.
    if (this.sawAny && this.position === 0) {
      out.push({
        type: 'invalid',
        fatal: true,
        problem: {
          code: 'OPERATION_INVALID',
          detail:
            'no line of this NDJSON body starts an operation: each operation is a line {"operation": {"entity": …, "action": …}} followed by its records, one per line; a body in the JSON form (an object or a list of operations) needs Content-Type: application/json',
          pointer: '',
        },
      });
    }
    if (!this.sawAny) out.push({ type: 'invalid', fatal: true, problem: { code: 'BODY_NOT_JSON', detail: 'the body is empty', pointer: '' } });
  }

  private invalid(code: Problem['code'], detail: string, out: BodyEvent[]): void {
    out.push({ type: 'invalid', fatal: false, problem: { code, detail, pointer: '', meta: { line: this.line } } });
  }

  private onLine(bytes: Buffer, out: BodyEvent[]): void {
    this.line++;
    if (!isUtf8(bytes)) return this.invalid('BODY_NOT_JSON', `line ${this.line} is not valid UTF-8`, out);
    let text = bytes.toString('utf8');
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (!text.trim()) return;
    this.sawAny = true;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Without JSON.parse's wording: it differs between Node versions, and the line number says where to look.
      return this.invalid('BODY_NOT_JSON', `line ${this.line} is not JSON`, out);
    }
    if (isObject(value) && Object.keys(value).length === 1 && 'operation' in value) {
      if (this.inOperation) out.push({ type: 'end' });
      this.inOperation = true;
      const header = value.operation;
      const line = this.line;
      out.push({ type: 'operation', key: undefined, position: this.position++, line, notAnObject: !isObject(header) });
      if (!isObject(header)) return;
      this.hasRecords = false;
      for (const [name, v] of Object.entries(header)) {
        if (name === 'payload') this.invalid('OPERATION_INVALID', `line ${line}: an NDJSON operation header carries no payload; its records follow on the next lines`, out);
        else out.push({ type: 'property', name, value: v, line });
      }
      return;
    }
    if (!this.inOperation) {
      return this.invalid('OPERATION_INVALID', `line ${this.line} is a record, but no operation has started: the first line must be {"operation": {"entity": …, "action": …}}`, out);
    }
    if (!this.hasRecords) out.push({ type: 'payload', line: this.line });
    this.hasRecords = true;
    out.push({ type: 'record', value, line: this.line });
  }
}
