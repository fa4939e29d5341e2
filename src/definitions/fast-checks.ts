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

/** A JSON schema as definitions write it (the subset a fast acceptance understands is checked at compile time). */
type JsonSchema = Record<string, unknown>;

/** Keywords the fast acceptance understands; a schema with any other keyword is validated by zod alone. */
const KNOWN = new Set(['type', 'properties', 'required', 'additionalProperties', 'items', 'minItems', 'maxItems', 'minimum', 'maximum', 'pattern', 'description', 'title']);

/**
 * A predicate that accepts a json value only when the field's zod validator (built from the same JSON schema, with
 * its NUL refinement) certainly accepts it unchanged: most values of an import are fine, and a zod parse of a price
 * list per record was the largest single cost of planning. Anything it does not accept goes to zod, which decides
 * and words the problems; so it may refuse more than zod, never less. Objects must forbid other properties (zod
 * would strip them, and the value would no longer be the one sent). Undefined when the schema uses anything else.
 */
export function jsonAcceptance(schema: unknown): ((v: unknown) => boolean) | undefined {
  const compiled = compile(schema);
  if (!compiled) return undefined;
  return (v) => {
    try {
      return compiled(v);
    } catch {
      return false; // a stack exhausted by a deep value: zod (and the depth check) decide
    }
  };
}

function compile(schema: unknown): ((v: unknown) => boolean) | undefined {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const s = schema as JsonSchema;
  for (const k of Object.keys(s)) if (!KNOWN.has(k)) return undefined;
  const num = (k: string) => (s[k] === undefined ? undefined : typeof s[k] === 'number' ? (s[k] as number) : NaN);
  switch (s.type) {
    case 'boolean':
      return only(s, ['type']) ? (v) => typeof v === 'boolean' : undefined;
    case 'number':
    case 'integer': {
      if (!only(s, ['type', 'minimum', 'maximum'])) return undefined;
      const min = num('minimum');
      const max = num('maximum');
      if (Number.isNaN(min) || Number.isNaN(max)) return undefined;
      const int = s.type === 'integer';
      return (v) =>
        typeof v === 'number' && Number.isFinite(v) && (!int || Number.isSafeInteger(v)) && (min === undefined || v >= min) && (max === undefined || v <= max);
    }
    case 'string': {
      if (!only(s, ['type', 'pattern'])) return undefined;
      if (s.pattern !== undefined && typeof s.pattern !== 'string') return undefined;
      const re = typeof s.pattern === 'string' ? new RegExp(s.pattern) : undefined;
      return (v) => typeof v === 'string' && !v.includes('\u0000') && !hasLoneSurrogate(v) && (!re || re.test(v));
    }
    case 'array': {
      if (!only(s, ['type', 'items', 'minItems', 'maxItems'])) return undefined;
      const item = s.items === undefined ? undefined : compile(s.items);
      if (!item) return undefined;
      const min = num('minItems');
      const max = num('maxItems');
      if (Number.isNaN(min) || Number.isNaN(max)) return undefined;
      return (v) => {
        if (!Array.isArray(v) || (min !== undefined && v.length < min) || (max !== undefined && v.length > max)) return false;
        for (let i = 0; i < v.length; i++) if (!(i in v) || !item(v[i])) return false;
        return true;
      };
    }
    case 'object': {
      // Any object (customFields): JSON values, no NUL, nested no deeper than the depth check allows.
      if (only(s, ['type'])) return (v) => isPlainObject(v) && plainJson(v, 1);
      if (!only(s, ['type', 'properties', 'required', 'additionalProperties']) || s.additionalProperties !== false) return undefined;
      const props = s.properties;
      if (!props || typeof props !== 'object' || Array.isArray(props)) return undefined;
      const checks = new Map<string, (v: unknown) => boolean>();
      for (const [name, sub] of Object.entries(props as Record<string, unknown>)) {
        const c = compile(sub);
        if (!c || name.includes('\u0000') || hasLoneSurrogate(name)) return undefined;
        checks.set(name, c);
      }
      const required = s.required ?? [];
      if (!Array.isArray(required) || !required.every((r) => typeof r === 'string' && checks.has(r))) return undefined;
      return (v) => {
        if (!isPlainObject(v)) return false;
        const o = v as Record<string, unknown>;
        for (const r of required as string[]) if (!Object.prototype.hasOwnProperty.call(o, r)) return false;
        // for…in, not Object.keys: no array per value (a price list per record). The prototype is Object.prototype
        // (isPlainObject), whose properties are not enumerable, so only own keys come.
        for (const key in o) {
          const c = checks.get(key);
          if (!c || !c(o[key])) return false;
        }
        return true;
      };
    }
    default:
      return undefined;
  }
}

/** Whether the schema uses no keyword but these (descriptions and titles aside). */
function only(s: JsonSchema, allowed: readonly string[]): boolean {
  for (const k of Object.keys(s)) if (k !== 'description' && k !== 'title' && !allowed.includes(k)) return false;
  return true;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** Lists and objects nest at most this deep in a value the acceptance takes (the depth check's limit, with room). */
const PLAIN_DEPTH = 32;

/** A value as JSON.parse makes it: strings without NUL (keys too), finite numbers, booleans, null, lists, objects. */
function plainJson(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
      return !v.includes('\u0000') && !hasLoneSurrogate(v);
    case 'number':
      return Number.isFinite(v);
    case 'boolean':
      return true;
    case 'object': {
      if (v === null) return true;
      if (depth > PLAIN_DEPTH) return false;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!(i in v) || !plainJson(v[i], depth + 1)) return false;
        return true;
      }
      if (!isPlainObject(v)) return false;
      // A "__proto__" key is a trap for any object copy (zod's among them): left to zod.
      for (const k of Object.keys(v)) if (k === '__proto__' || k.includes('\u0000') || hasLoneSurrogate(k) || !plainJson(v[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}
