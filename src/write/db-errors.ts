import type { ErrorCode } from '../errors';

/** A database error seen by the writer, reduced to what is needed to point at the record that caused it. */
export interface DbFault {
  code: ErrorCode;
  /** Column named by the error detail, when PostgreSQL gives one. */
  column?: string;
  /** Value named by the error detail (as text), when PostgreSQL gives one. */
  value?: string;
  detail: string;
}

interface PgError {
  code?: string;
  detail?: string;
  column?: string;
  constraint?: string;
  table?: string;
}

/**
 * Maps integrity errors to API codes. Returns undefined for anything else (a real fault, logged as INTERNAL).
 * The detail never carries SQL: it is rebuilt from the constraint's column and value.
 */
export function classifyDbError(e: unknown, during: 'write' | 'delete'): DbFault | undefined {
  const err = e as PgError;
  if (typeof err?.code !== 'string') return undefined;
  const m = /^Key \(([^)]+)\)=\((.*)\)/.exec(err.detail ?? '');
  const column = m?.[1] ?? err.column;
  const value = m?.[2];
  switch (err.code) {
    case '23505':
      return { code: 'UNIQUE_VIOLATION', column, value, detail: `${column ?? 'a unique value'} ${value ? `"${value}" ` : ''}is already used by another record` };
    case '23503':
      return during === 'delete'
        ? { code: 'FK_RESTRICT', column, value, detail: `the record is still referenced${err.table ? ` by ${err.table}` : ''}` }
        : { code: 'FK_NOT_FOUND', column, value, detail: `${column ?? 'a reference'} ${value ? `"${value}" ` : ''}names no existing record` };
    case '23514':
      // A parent trigger's refusal (migration category_parent_cycle): said as what it is, not as a check's name.
      if (err.constraint?.endsWith('_parent_cycle')) return { code: 'VALUE_INVALID', column, value, detail: `${column ?? 'the parent'} would make the record its own ancestor (a cycle)` };
      return { code: 'VALUE_INVALID', column, detail: `a value breaks the check ${err.constraint ?? ''}`.trim() };
    case '23502':
      return { code: 'FIELD_REQUIRED', column, detail: `${column ?? 'a field'} must not be null` };
    case '22001':
    case '22003':
    case '22P02':
    case '22007':
    case '22008':
      return { code: 'VALUE_INVALID', column, detail: 'a value is out of range or malformed for its column' };
    default:
      return undefined;
  }
}

/**
 * A statement failed on what its rows hold (integrity constraint, data exception, or two rows of one statement for
 * one key): the write is diagnosed record by record. Deadlocks, serialization failures and lost connections are not
 * among them: those re-run the transaction.
 */
export function isConstraintFault(e: unknown): boolean {
  const code = (e as PgError | null)?.code;
  return typeof code === 'string' && (code.startsWith('23') || code.startsWith('22') || code === '21000');
}

/**
 * 55P03 lock_not_available: a lock asked for NOWAIT is held by another transaction (a version touch, or a trigger
 * under upsert-set's LOCK_NOWAIT). The caller takes the path that locks in key order and waits.
 */
export function isLockBusy(e: unknown): boolean {
  return (e as PgError | null)?.code === '55P03';
}
