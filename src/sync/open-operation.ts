import type { Operation } from './types';

/** An operation while its events arrive. */
export interface OpenOperation {
  key: string;
  position: number;
  line?: number;
  /** The body is NDJSON: its header is complete at once, and an upsert's payload is its record lines. */
  ndjson: boolean;
  notAnObject: boolean;
  props: Record<string, unknown>;
  payloadSeen: boolean;
  /** Properties that arrived after records of the operation were already planned. */
  late: string[];
  operation?: Operation;
  /** The header was refused: its records are read and counted, not planned. */
  refused: boolean;
  records: unknown[];
  lines: number[];
  /** Index of the next payload item. */
  next: number;
  /** Index of the first record in `records`. */
  first: number;
}

/** A new operation at its header's event: nothing read of it yet. */
export function openOperation(key: string, position: number, line: number | undefined, notAnObject: boolean): OpenOperation {
  return {
    key,
    position,
    line,
    ndjson: line !== undefined,
    notAnObject,
    props: {},
    payloadSeen: false,
    late: [],
    refused: false,
    records: [],
    lines: [],
    next: 0,
    first: 0,
  };
}
