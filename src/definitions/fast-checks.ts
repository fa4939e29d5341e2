import { codePoints, hasLoneSurrogate, LONE_SURROGATE_MESSAGE } from './code-points';
import { isId } from './ids';
import { STRING_MAX_LENGTH, TEXT_MAX_LENGTH } from './kinds';
import type { FieldDef } from './types';

/** A value check: undefined when the value is fine, otherwise what is wrong with it. */
export type Check = (v: unknown) => string | undefined;

/**
 * Plain checks for the scalar kinds, compiled once per field. A sync validates every field of every record, and
 * for ids, numbers, booleans and plain strings these are several times cheaper than a zod parse; their messages
 * are the ones the zod validators of the same field give. Fields with a format, an enum or a JSON schema keep zod.
 */
export function fastCheck(field: FieldDef): Check | undefined {
  switch (field.kind) {
    case 'id':
    case 'fk':
      return (v) => (isId(v) ? undefined : 'expected a UUID (32 hex characters or the dashed form)');
    case 'bool':
      return (v) => (typeof v === 'boolean' ? undefined : 'expected true or false');
    case 'int':
    case 'float':
      return numberCheck(field, field.kind === 'int');
    case 'string':
    case 'text':
      return field.format || field.enum ? undefined : stringCheck(field);
    default:
      return undefined;
  }
}

function stringCheck(field: FieldDef): Check {
  const min = field.minLength;
  const max = field.maxLength ?? (field.kind === 'text' ? TEXT_MAX_LENGTH : STRING_MAX_LENGTH);
  const pattern = field.pattern ? new RegExp(field.pattern) : undefined;
  return (v) => {
    if (typeof v !== 'string') return 'expected string';
    if (v.includes('\u0000')) return 'must not contain the NUL character (\\u0000)';
    if (hasLoneSurrogate(v)) return LONE_SURROGATE_MESSAGE;
    // Characters are code points, as PostgreSQL counts them: an emoji is one, not two UTF-16 units. A string's
    // code points are at most its UTF-16 length and at least half of it, so most strings need no count.
    if (min !== undefined && v.length < 2 * min && codePoints(v) < min) return `expected at least ${min} characters`;
    if (v.length > max && codePoints(v) > max) return `expected at most ${max} characters`;
    if (pattern && !pattern.test(v)) return `expected to match ${field.pattern}`;
    return undefined;
  };
}

function numberCheck(field: FieldDef, int: boolean): Check {
  const noun = int ? 'an integer' : 'a number';
  const min = field.min ?? (int ? -2147483648 : undefined);
  const max = field.max ?? (int ? 2147483647 : undefined);
  const both = field.min !== undefined && field.max !== undefined ? `expected ${noun} between ${min} and ${max}` : undefined;
  const allowed = field.numberEnum;
  return (v) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v))) return both ?? `expected ${noun}`;
    if (min !== undefined && v < min) return both ?? `expected ${noun} of at least ${min}`;
    if (max !== undefined && v > max) return both ?? `expected ${noun} of at most ${max}`;
    if (allowed && !allowed.includes(v)) return `expected one of ${allowed.join(', ')}`;
    return undefined;
  };
}
