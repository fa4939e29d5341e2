import { z } from 'zod';
import { codePoints, hasLoneSurrogate, jsonHasLoneSurrogate, LONE_SURROGATE_MESSAGE } from './code-points';
import { isId, toApiId, toDbId, uuidToApi, uuidToDb } from './ids';
import { outboundUrlProblem, STRICT_OUTBOUND } from './public-url';
import type { FieldDef } from './types';

/**
 * Each field kind knows how to validate API input, how its column looks in PostgreSQL, how a value travels
 * to the database in a set-based statement, and how it is read back.
 */
export interface FieldKind {
  /** Validator of a non-null API value for this field. */
  validator(field: FieldDef): z.ZodType;
  /** Element type of the array parameter used with unnest(); values are cast to `sqlType` after unnesting. */
  paramType: string;
  /** The column type written in casts and migrations. */
  sqlType: string;
  /** information_schema udt_name values a column of this kind may have. */
  udtNames: readonly string[];
  /** API value (already validated, not null) → parameter value. */
  toDb(value: unknown): unknown;
  /** Database value (not null) → API value. */
  fromDb(value: unknown): unknown;
}

const idSchema = z.string().refine(isId, { message: 'expected a UUID (32 hex characters or the dashed form)' });

/** PostgreSQL text cannot hold U+0000: refuse it as a value error instead of failing in the database. */
const NO_NUL = 'must not contain the NUL character (\\u0000)';

/**
 * ISO 8601 date-times that zod accepts and PostgreSQL's timestamptz refuses (an error of the database, a 500,
 * instead of a 400 naming the field): year 0000, and offsets past ±15:59.
 */
function storableDateTime(s: string): boolean {
  if (s.startsWith('0000')) return false;
  const offset = /[+-](\d{2}):?\d{2}$/.exec(s);
  return !offset || Number(offset[1]) <= 15;
}

function stringValidator(field: FieldDef): z.ZodType {
  let s = z
    .string()
    .refine((v) => !v.includes('\u0000'), NO_NUL)
    .refine((v) => !hasLoneSurrogate(v), LONE_SURROGATE_MESSAGE);
  // Lengths in code points, as PostgreSQL's varchar(n) counts (and as the fast checks do).
  const min = field.minLength;
  if (min !== undefined) s = s.refine((v) => v.length >= 2 * min || codePoints(v) >= min, `expected at least ${min} characters`);
  const max = field.maxLength ?? (field.kind === 'text' ? TEXT_MAX_LENGTH : STRING_MAX_LENGTH);
  s = s.refine((v) => v.length <= max || codePoints(v) <= max, `expected at most ${max} characters`);
  if (field.pattern) s = s.regex(new RegExp(field.pattern), `expected to match ${field.pattern}`);
  let out: z.ZodType = s;
  if (field.format === 'email') out = s.pipe(z.email('expected an email address'));
  if (field.format === 'url') out = s.pipe(z.url({ message: 'expected a URL', protocol: /^https?$/ }));
  if (field.format === 'publicUrl') {
    const policy = field.outbound ?? STRICT_OUTBOUND;
    out = s.superRefine((v, ctx) => {
      const problem = outboundUrlProblem(v, policy);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
  }
  if (field.enum) out = z.enum(field.enum as [string, ...string[]], `expected one of ${field.enum.join(', ')}`);
  return out;
}

function numberValidator(field: FieldDef, int: boolean): z.ZodType {
  const noun = int ? 'an integer' : 'a number';
  // Integers are 32-bit columns: outside that range is out of bounds even when the definition sets none.
  const min = field.min ?? (int ? -2147483648 : undefined);
  const max = field.max ?? (int ? 2147483647 : undefined);
  // With both bounds in the definition, one message names the range ("expected a number between 0 and 100");
  // otherwise each failure says what it is.
  const both = field.min !== undefined && field.max !== undefined ? `expected ${noun} between ${min} and ${max}` : undefined;
  let n = z.number(both ?? `expected ${noun}`);
  if (int) n = n.int(both ?? `expected ${noun}`);
  if (min !== undefined) n = n.min(min, both ?? `expected ${noun} of at least ${min}`);
  if (max !== undefined) n = n.max(max, both ?? `expected ${noun} of at most ${max}`);
  const allowed = field.numberEnum;
  if (allowed) return n.refine((v) => allowed.includes(v), `expected one of ${allowed.join(', ')}`);
  return n;
}

/** Default caps so that a multi-megabyte string is an error with a pointer, not a surprise in the table. */
export const STRING_MAX_LENGTH = 255;
export const TEXT_MAX_LENGTH = 1024 * 1024;

const identity = (v: unknown) => v;

export const KINDS = {
  id: {
    validator: () => idSchema,
    paramType: 'uuid',
    sqlType: 'uuid',
    udtNames: ['uuid'],
    toDb: (v) => uuidToDb(v as string),
    fromDb: (v) => uuidToApi(v as string),
  },
  fk: {
    validator: () => idSchema,
    paramType: 'uuid',
    sqlType: 'uuid',
    udtNames: ['uuid'],
    toDb: (v) => uuidToDb(v as string),
    fromDb: (v) => uuidToApi(v as string),
  },
  string: {
    validator: stringValidator,
    paramType: 'text',
    sqlType: 'text',
    udtNames: ['varchar', 'text', 'bpchar', 'citext'],
    toDb: identity,
    fromDb: identity,
  },
  text: {
    validator: stringValidator,
    paramType: 'text',
    sqlType: 'text',
    udtNames: ['text', 'varchar'],
    toDb: identity,
    fromDb: identity,
  },
  int: {
    validator: (f) => numberValidator(f, true),
    paramType: 'integer',
    sqlType: 'integer',
    udtNames: ['int4', 'int8', 'int2'],
    toDb: identity,
    fromDb: (v) => Number(v),
  },
  float: {
    validator: (f) => numberValidator(f, false),
    paramType: 'double precision',
    sqlType: 'double precision',
    udtNames: ['float8', 'float4', 'numeric'],
    toDb: identity,
    fromDb: (v) => Number(v),
  },
  bool: {
    validator: () => z.boolean('expected true or false'),
    paramType: 'boolean',
    sqlType: 'boolean',
    udtNames: ['bool'],
    toDb: identity,
    fromDb: identity,
  },
  json: {
    validator: (f) =>
      (f.jsonSchema ? z.fromJSONSchema(f.jsonSchema as Parameters<typeof z.fromJSONSchema>[0]) : z.json()).refine(
        (v) => !JSON.stringify(v).includes('\\u0000'),
        NO_NUL,
      ).refine((v) => !jsonHasLoneSurrogate(v), LONE_SURROGATE_MESSAGE),
    // JSON travels as text and is cast after unnest: a jsonb[] literal would need double escaping.
    paramType: 'text',
    sqlType: 'jsonb',
    udtNames: ['jsonb', 'json'],
    toDb: (v) => JSON.stringify(v),
    fromDb: identity,
  },
  idList: {
    validator: () => z.array(idSchema),
    paramType: 'text',
    sqlType: 'uuid[]',
    udtNames: ['_uuid'],
    toDb: (v) => `{${(v as string[]).map(toDbId).join(',')}}`,
    fromDb: (v) => (v as string[]).map(toApiId),
  },
  tsvector: {
    validator: () => z.string(),
    paramType: 'text',
    sqlType: 'tsvector',
    udtNames: ['tsvector'],
    toDb: identity,
    fromDb: identity,
  },
  datetime: {
    validator: () =>
      z.iso
        .datetime({ offset: true, message: 'expected an ISO 8601 date-time' })
        .refine(storableDateTime, 'expected a date-time from year 0001 on, with an offset within ±15:59'),
    paramType: 'timestamptz',
    sqlType: 'timestamptz',
    udtNames: ['timestamptz', 'timestamp'],
    toDb: identity,
    fromDb: (v) => (v instanceof Date ? v.toISOString() : v),
  },
} satisfies Record<string, FieldKind>;

export type KindName = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as [KindName, ...KindName[]];

export function kindOf(field: FieldDef): FieldKind {
  return KINDS[field.kind];
}
