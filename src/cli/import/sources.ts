import fs from 'node:fs';
import readline from 'node:readline';
import type { Readable } from 'node:stream';
import { parse as csvParse, type CsvError, type Info } from 'csv-parse';
import type { JsonRecord } from '../../client';

/** A problem of one input line, reported with its 1-based line number (and the field, when known). */
export interface LineProblem {
  line: number;
  code: string;
  message: string;
  column?: string;
  field?: string;
}

/**
 * What a reader hands on: a record (or CSV cells) with the line it starts on, or a problem of a line; `offset` is how
 * far into the input the reader is (bytes, or characters where that is cheaper), for the progress bar.
 */
export type SourceItem = { offset?: number } & (
  | { line: number; record: JsonRecord; cells?: undefined }
  | { line: number; cells: string[]; record?: undefined }
  | { line: number; problem: LineProblem; record?: undefined; cells?: undefined }
);

export type InputFormat = 'csv' | 'ndjson' | 'json';

export function formatOf(file: string, given?: string): InputFormat {
  if (given === 'csv' || given === 'ndjson' || given === 'json') return given;
  if (/\.csv$/i.test(file) || /\.tsv$/i.test(file)) return 'csv';
  if (/\.(ndjson|jsonl)$/i.test(file)) return 'ndjson';
  if (/\.json$/i.test(file)) return 'json';
  return 'csv';
}

export function openInput(file: string): Readable {
  return file === '-' ? process.stdin : fs.createReadStream(file, { highWaterMark: 256 * 1024 });
}

/**
 * CSV rows as cells (the first row, the header, included), each with the line it starts on. A malformed row
 * (wrong number of cells, a bad quote) is a problem at its line and the rest is still read.
 */
export async function* csvRows(input: Readable, delimiter = ','): AsyncGenerator<SourceItem> {
  const parser = input.pipe(csvParse({ info: true, skip_records_with_error: true, bom: true, delimiter, skip_empty_lines: true }));
  input.on('error', (e) => parser.destroy(e));
  // Skipped rows are announced while later rows wait in the parser's buffer: hold them back until their turn.
  const skipped: LineProblem[] = [];
  parser.on('skip', (e: CsvError & { lines?: number }) => {
    skipped.push({ line: e.lines ?? 0, code: 'CSV_INVALID', message: e.message });
  });
  for await (const row of parser as AsyncIterable<{ record: string[]; info: Info }>) {
    // info.lines is where the row ends; a quoted cell may span lines.
    const inner = row.record.reduce((n, cell) => n + countNewlines(cell), 0);
    const line = row.info.lines - inner;
    while (skipped.length && skipped[0]!.line < line) {
      const p = skipped.shift()!;
      yield { line: p.line, problem: p };
    }
    yield { line, cells: row.record, offset: row.info.bytes };
  }
  for (const p of skipped) yield { line: p.line, problem: p };
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/** One JSON object per line; empty lines skipped; a line that is not a JSON object is a problem at that line. */
export async function* ndjsonRecords(input: Readable): AsyncGenerator<SourceItem> {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  let offset = 0;
  for await (const text of lines) {
    line++;
    offset += text.length + 1;
    if (!text.trim()) continue;
    yield { ...parseRecord(text, line), offset };
  }
}

function parseRecord(text: string, line: number): SourceItem {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return { line, record: value as JsonRecord };
    return { line, problem: { line, code: 'VALUE_INVALID', message: 'expected a JSON object (one record)' } };
  } catch (e) {
    return { line, problem: { line, code: 'BODY_NOT_JSON', message: `not JSON: ${(e as Error).message}` } };
  }
}

/**
 * The records of a top-level JSON array, streamed: a scanner finds each element's bounds (depth and string state)
 * and JSON.parse reads its slice, so the file is never whole in memory (measured on this project's machine at 2x JSON.parse, a
 * tenth of stream-json's cost). Each record's line is where it starts. Elements must be objects.
 */
export async function* jsonArrayRecords(input: Readable): AsyncGenerator<SourceItem> {
  let opened = false;
  let closed = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let line = 1;
  let startLine = 1;
  let parts: string[] = [];
  let before = 0;
  input.setEncoding('utf8');
  for await (const chunk of input as AsyncIterable<string>) {
    // Where the element being read starts in this chunk (0 when it began in an earlier one).
    let from = depth > 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) line++;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92) escaped = true;
        else if (c === 34) inString = false;
        continue;
      }
      if (depth === 0) {
        if (c <= 32 || c === 0xfeff) continue;
        if (closed) throw new SyntaxError(`line ${line}: text after the end of the JSON array`);
        if (!opened) {
          if (c !== 91) throw new SyntaxError(`line ${line}: expected a JSON array ([ … ]) of records`);
          opened = true;
        } else if (c === 93) closed = true;
        else if (c === 123) {
          depth = 1;
          from = i;
          startLine = line;
        } else if (c !== 44) throw new SyntaxError(`line ${line}: expected a JSON object (one record) in the array`);
        continue;
      }
      if (c === 34) inString = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        if (--depth === 0) {
          parts.push(chunk.slice(from, i + 1));
          const text = parts.join('');
          parts = [];
          yield { ...parseRecord(text, startLine), offset: before + i };
        }
      }
    }
    before += chunk.length;
    if (depth > 0) parts.push(chunk.slice(from));
  }
  if (!closed) throw new SyntaxError(`line ${line}: the JSON array is not closed`);
}
