import fc from 'fast-check';
import type { Registry } from '../../src/definitions/registry';
import type { EntityDef, FieldDef } from '../../src/definitions/types';
import { EUR } from '../fixtures/catalog';

/**
 * Arbitraries (fast-check) of sync and search requests: mostly plausible operations on the real definitions and
 * on records that exist, mixed with hostile parts (wrong types, unknown names, NUL characters, odd ids, huge and
 * deeply nested values, resolvers, criteria, headers). What the service answers is checked by the caller.
 *
 * The hostile strings never contain the phrases the caller looks for in answers (SQL keywords such as
 * "SELECT … FROM", PostgreSQL's error wording, stack frames), so that an echo of the input is not taken for a leak.
 */

/** Known keys of the seeded catalog, per entity: the fuzzer hits existing records with them. */
export type KnownKeys = Record<string, string[]>;
/** Values of the catalog per single-field resolver (`product.productNumber` → ["SW-1", …]). */
export type KnownNaturals = Record<string, string[]>;

export interface FuzzRequest {
  kind: 'sync' | 'search';
  /** The request path (search: `/api/search/<entity>`). */
  path: string;
  headers: Record<string, string>;
  /** The exact bytes sent (JSON text, or something that is not). */
  body: string;
  /** A short description for failure reports (bodies can be megabytes). */
  label: string;
}

/**
 * Deeply nested values cannot travel through JSON.stringify (nor through supertest): the arbitraries put a
 * placeholder string, replaced by the nesting itself in the serialized text.
 */
const DEEP = '\u0001deep:';
function deep(levels: number, shape: 'list' | 'object' | 'multi'): string {
  return `${DEEP}${shape}:${levels}\u0001`;
}
const DEEP_PATTERN = /"\\u0001deep:(list|object|multi):(\d+)\\u0001"/g;
function expandDeep(json: string): string {
  return json.replace(DEEP_PATTERN, (_m, shape: string, n: string) => {
    const levels = Number(n);
    if (shape === 'list') return '['.repeat(levels) + '1' + ']'.repeat(levels);
    if (shape === 'object') return '{"a":'.repeat(levels) + 'null' + '}'.repeat(levels);
    return '{"type":"multi","queries":['.repeat(levels) + '{"type":"equals","field":"id","value":null}' + ']}'.repeat(levels);
  });
}

const uuid = fc.uuid();
const hexUuid = uuid.map((u) => u.replace(/-/g, ''));

/** Strings that have broken (or could break) services like this one. */
const NASTY_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '𝕏𝕐',
  'e\u0301',
  '\u202e',
  "x'); DROP TABLE product; --",
  '" OR "1"="1',
  '%',
  '_',
  '\\',
  '\\u0000',
  '$1',
  '::uuid',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '1e400',
  '-0',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  '{}',
  '[]',
  'a|b|c',
  '|',
  '00000000-0000-0000-0000-000000000000',
  'ffffffffffffffffffffffffffffffff',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  'gggggggggggggggggggggggggggggggg',
  '0189bf2a-627a-7296-adbc-83527ba9ac2',
  '{0189bf2a-627a-7296-adbc-83527ba9ac29}',
  '0189bf2a627a7296adbc83527ba9ac29 ',
  '2026-11-30T12:00:00Z',
  '2026-13-45T25:61:61Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59+14:00',
  '+275760-09-13T00:00:00.000Z',
  'tax.name',
  'product.productNumber',
  'http://',
  'mailto:a@b',
  'a@b',
  'use-queue-indexing',
  'disable-indexing',
];

const NASTY_NUMBERS = [0, -0, 1, -1, 0.5, 1.5, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53, 2 ** 53 + 2, 1e308, -1e308, 5e-324, 1e21];

const nastyString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 256, max: 70_000 }).map((n) => 'x'.repeat(n)) },
);

/**
 * About 1 MB of distinct words: a repeated character makes a tiny search vector, this one a vector larger than
 * PostgreSQL's tsvector holds (1 MB).
 */
const manyDistinctWords = fc.integer({ min: 30_000, max: 40_000 }).map((n) =>
  Array.from({ length: n }, (_, i) => ((i * 2654435761) % 2 ** 32).toString(16).padStart(8, '0').repeat(3)).join(' '),
);

const deepValue = fc.oneof(
  fc.integer({ min: 2, max: 70 }).map((n) => deep(n, 'list')),
  fc.constantFrom(65, 200, 1_000, 5_000, 20_000, 100_000).map((n) => deep(n, 'list')),
  fc.constantFrom(65, 1_000, 20_000).map((n) => deep(n, 'object')),
);

/** Anything at all that JSON can carry, weighted towards values that have broken services before. */
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_NUMBERS) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false) },
  { weight: 1, arbitrary: uuid },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom({}, [], [null], { id: null }, { resolver: null }, { resolver: 'tax.name' }) },
  { weight: 1, arbitrary: deepValue },
);

const hostileName = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'id ', 'ID', 'Id', 'name; DROP', 'na\u0000me', 'x'.repeat(300), '', ' ', '0', 'a/b', 'a~b', 'a.b', '$ref', 'type'),
  fc.string({ maxLength: 12 }),
);

export class BodyArbitraries {
  private readonly records = new Map<string, fc.Arbitrary<unknown>>();
  private readonly entityNames: string[];

  constructor(
    private readonly registry: Registry,
    private readonly known: KnownKeys,
    private readonly naturals: KnownNaturals = {},
  ) {
    this.entityNames = registry.names();
  }

  /** An existing key of the entity most of the time, otherwise a fresh (or, unless clean, a broken) one. */
  private id(entity: string, clean = false): fc.Arbitrary<unknown> {
    const ids = this.known[entity] ?? [];
    const existing = ids.length ? fc.constantFrom(...ids) : hexUuid;
    if (clean) return fc.oneof({ weight: 4, arbitrary: existing }, { weight: 1, arbitrary: hexUuid });
    return fc.oneof(
      { weight: 6, arbitrary: existing },
      { weight: 1, arbitrary: existing.map((id) => `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`.toUpperCase()) },
      { weight: 2, arbitrary: hexUuid },
      { weight: 1, arbitrary: hostileValue },
    );
  }

  /** A resolver of the entity with a value of the catalog (or, rarely, one that finds nothing); none if it has none. */
  private cleanResolver(entity: string, nullable = true): { weight: number; arbitrary: fc.Arbitrary<unknown> }[] {
    const names = this.registry.resolverNames().filter((n) => n.startsWith(`${entity}.`) && this.naturals[n]?.length);
    if (!names.length) return [];
    const arbitrary = fc.constantFrom(...names).chain((resolver) =>
      fc.record(
        {
          resolver: fc.constant(resolver),
          value: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...this.naturals[resolver]!) }, { weight: 1, arbitrary: fc.constant('fz-nowhere') }),
          nullOnMissing: nullable ? fc.boolean() : fc.constant(false),
        },
        { requiredKeys: ['resolver', 'value'] },
      ),
    );
    return [{ weight: 1, arbitrary }];
  }

  private existing(entity: string): fc.Arbitrary<unknown> {
    const ids = this.known[entity] ?? [];
    return ids.length ? fc.constantFrom(...ids) : hexUuid;
  }

  private resolver(field: FieldDef, entity: EntityDef): fc.Arbitrary<unknown> {
    const target = field.kind === 'fk' ? field.references! : entity.name;
    const names = this.registry.resolverNames();
    const own = names.filter((n) => n.startsWith(`${target}.`));
    return fc.record(
      {
        resolver: fc.oneof(own.length ? fc.constantFrom(...own) : fc.constant('nope.nope'), fc.constantFrom(...names), nastyString),
        value: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('SW-1', 'SW-10', 'Standard', 'DE', 'ext-1', 'c-1@example.com'), hostileValue),
        nullOnMissing: fc.oneof(fc.boolean(), hostileValue),
        extra: hostileValue,
      },
      { requiredKeys: ['resolver'] },
    );
  }

  /**
   * A value that fits the field most of the time, now and then one at the edge of what the field (or PostgreSQL)
   * takes. Edges go into clean requests too: a request with any other mistake is refused before the database sees
   * it, so only an otherwise valid request finds out whether the database takes what validation let through.
   */
  private plausible(entity: EntityDef, f: FieldDef, clean = false): fc.Arbitrary<unknown> {
    const withEdges = (ordinary: fc.Arbitrary<unknown>, edges: readonly unknown[]) => (edges.length ? fc.oneof({ weight: 6, arbitrary: ordinary }, { weight: 1, arbitrary: fc.constantFrom(...edges) }) : ordinary);
    if (f.enum?.length) return fc.constantFrom(...f.enum);
    switch (f.kind) {
      case 'id':
        return clean ? fc.oneof({ weight: 8, arbitrary: this.id(entity.name, true) }, ...this.cleanResolver(entity.name)) : this.id(entity.name);
      case 'fk':
        // A reference to a record that does not exist is a mistake; a clean one names an existing record.
        return clean ? fc.oneof({ weight: 8, arbitrary: this.existing(f.references!) }, ...this.cleanResolver(f.references!, f.nullable)) : this.id(f.references!);
      case 'int': {
        const min = f.min ?? -(2 ** 31);
        const max = f.max ?? 2 ** 31 - 1;
        return withEdges(fc.integer({ min: Math.max(min, -10), max: Math.min(max, 1000) }), [min, max, 0]);
      }
      case 'float': {
        const min = f.min ?? -1e308;
        const max = f.max ?? 1e308;
        return withEdges(fc.double({ min: Math.max(min, 0), max: Math.min(max, 1000), noNaN: true, noDefaultInfinity: true }), [min, max, 5e-324, -0, 0.1 + 0.2]);
      }
      case 'bool':
        return fc.boolean();
      case 'datetime':
        // The edges of what ISO 8601 can say and PostgreSQL's timestamptz can hold.
        return withEdges(fc.date({ noInvalidDate: true, min: new Date('1900-01-01'), max: new Date('2200-01-01') }).map((d) => d.toISOString()), [
          '0000-01-01T00:00:00Z',
          '0001-01-01T00:00:00Z',
          '9999-12-31T23:59:59.999999Z',
          '1970-01-01T00:00:00+15:59',
          '1970-01-01T00:00:00+16:00',
          '1970-01-01T00:00:00-23:59',
          '2026-11-30T12:00:00.123456789Z',
          '2026-02-29T00:00:00Z',
          '2026-11-30T23:59:60Z',
        ]);
      case 'json':
        return fc.array(
          fc.record({
            currencyId: clean ? fc.constant(EUR) : fc.oneof({ weight: 5, arbitrary: fc.constant(EUR) }, { weight: 1, arbitrary: this.id('currency') }),
            gross: withEdges(fc.double({ min: 0, max: 1e6, noNaN: true }), [0, 1e308, 5e-324]),
            net: fc.double({ min: 0, max: 1e6, noNaN: true }),
            linked: fc.boolean(),
          }),
          { minLength: 1, maxLength: 3 },
        );
      case 'idList':
        return fc.array(this.id('category'), { maxLength: 3 });
      default: {
        if (f.format === 'email') return fc.tuple(fc.stringMatching(/^[a-z0-9]{1,12}$/), fc.constantFrom('example.com', 'example.org')).map(([a, b]) => `${a}@${b}`);
        if (f.format === 'url') return fc.stringMatching(/^[a-z]{1,10}$/).map((s) => `https://${s}.example.com/`);
        const max = f.maxLength ?? (f.kind === 'text' ? 1024 * 1024 : 255);
        const unique = fc.oneof({ weight: 9, arbitrary: hexUuid.map((h) => `fz-${h.slice(0, 12)}`) }, { weight: 1, arbitrary: fc.constantFrom('SW-1', 'DE', 'ext-1', 'C-1') });
        // Clean unique values are mostly new; the others often collide with the catalog (SW-1, DE, ext-1).
        const ordinary = f.unique ? (clean ? unique : fc.oneof(fc.stringMatching(/^[A-Z]{2}-[0-9]{1,3}$/), unique)) : fc.string({ minLength: 1, maxLength: 40 });
        const edges = f.unique
          ? [`${'é'.repeat(40)}-edge`]
          : ['é'.repeat(max > 70_000 ? 70_000 : max), '𝕏'.repeat(Math.floor(Math.min(max, 70_000) / 2)), ' ', '\ud800', 'a\\', '%_', "O'Brien", 'x'.repeat(Math.min(max, 70_000))];
        const edged = withEdges(ordinary, edges);
        if (f.kind === 'text') return fc.oneof({ weight: 30, arbitrary: edged }, { weight: 1, arbitrary: manyDistinctWords });
        return edged;
      }
    }
  }

  private fieldValue(entity: EntityDef, f: FieldDef): fc.Arbitrary<unknown> {
    const options = [
      { weight: 12, arbitrary: this.plausible(entity, f) },
      { weight: 2, arbitrary: hostileValue },
      { weight: 1, arbitrary: fc.constant(null) },
    ];
    if (f.kind === 'id' || f.kind === 'fk') options.push({ weight: 2, arbitrary: this.resolver(f, entity) });
    return fc.oneof(...options);
  }

  /**
   * A record of the entity, nested associations down to `depth` 0. A clean record could be written: its required
   * fields are there (a record of an existing id may leave any out) and every value fits; the others mix in
   * hostile values, unknown names and write-protected fields.
   */
  record(entityName: string, depth: number, clean: boolean, parentKey?: string): fc.Arbitrary<unknown> {
    const cacheKey = `${entityName}:${depth}:${clean}:${parentKey ?? ''}`;
    const cached = this.records.get(cacheKey);
    if (cached) return cached;
    const entity = this.registry.get(entityName);
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    const required: string[] = [];
    for (const f of entity.fieldList) {
      // The key of the parent a one-to-many child is nested in is filled in by the service.
      if (f.name === parentKey && clean) continue;
      if (f.writeProtected) {
        // Write-protected fields are sent now and then: they must be refused, not written.
        if (!clean) model[f.name] = fc.oneof(fc.constant(undefined), fc.constant(undefined), fc.constant(undefined), this.plausible(entity, f));
        continue;
      }
      model[f.name] = clean ? this.plausible(entity, f, true) : this.fieldValue(entity, f);
      if (clean && f.required) required.push(f.name);
    }
    if (depth > 0) {
      for (const [name, a] of Object.entries(entity.associations)) {
        const childParentKey = a.type === 'oneToMany' ? a.foreignKey : undefined;
        const reference = (clean ? this.existing(a.entity) : this.id(a.entity)).map((id) => ({ id }));
        const child = clean
          ? fc.oneof({ weight: 2, arbitrary: this.record(a.entity, depth - 1, true, childParentKey) }, { weight: 3, arbitrary: reference })
          : fc.oneof({ weight: 3, arbitrary: this.record(a.entity, depth - 1, false, childParentKey) }, { weight: 2, arbitrary: reference }, { weight: 1, arbitrary: hostileValue });
        // A one-to-many child must be new or a child of this record: a clean one is a new record.
        const many = a.type === 'oneToMany' && clean ? this.record(a.entity, depth - 1, true, childParentKey) : child;
        model[name] =
          a.type === 'manyToOne'
            ? child
            : clean
              ? fc.array(many, { maxLength: 3 })
              : fc.oneof({ weight: 6, arbitrary: fc.array(many, { maxLength: 3 }) }, { weight: 1, arbitrary: hostileValue });
      }
    }
    const plain = fc.record(model, { requiredKeys: [] });
    // A clean record is new (every required field), or an update of an existing one (any fields).
    const cleanRecord = fc.oneof(
      fc.record(model, { requiredKeys: required.filter((k) => k in model) }),
      fc.tuple(this.existing(entityName), plain).map(([id, r]) => (entity.primaryKey.length === 1 ? { ...(r as object), [entity.primaryKey[0]!]: id } : r)),
    );
    const record = fc
      .tuple(clean ? cleanRecord : plain, clean ? fc.constant(null) : fc.option(fc.dictionary(hostileName, hostileValue, { maxKeys: 2 }), { freq: 8 }))
      .map(([r, extra]) => {
        const out: Record<string, unknown> = {};
        // Every property an own data property, __proto__ included (as JSON.parse would make it).
        for (const [k, v] of Object.entries({ ...(r as object) })) if (v !== undefined) out[k] = v;
        if (extra) for (const [k, v] of Object.entries(extra)) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
        return out;
      });
    const arb = clean
      ? record
      : fc.oneof({ weight: 20, arbitrary: record }, { weight: 1, arbitrary: hostileValue }, ...(entityName === 'category' && depth > 0 ? [{ weight: 1, arbitrary: this.deepCategory() }] : []));
    this.records.set(cacheKey, arb);
    return arb;
  }

  /** Categories nested in categories past the nesting limit (8). */
  private deepCategory(): fc.Arbitrary<unknown> {
    return fc.integer({ min: 6, max: 30 }).map((levels) => {
      let c: Record<string, unknown> = { name: 'leaf' };
      for (let i = 0; i < levels; i++) c = { name: `level ${i}`, children: [c] };
      return c;
    });
  }

  /** A filter on the entity, plausible or not, nested through multi/not. */
  criteria(entityName: string, clean = false): fc.Arbitrary<unknown> {
    const entity = this.registry.find(entityName) ?? this.registry.get('product');
    if (clean) return this.cleanCriteria(entity);
    const fieldName = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...entity.fieldList.map((f) => f.name)) }, { weight: 1, arbitrary: hostileName });
    const valueFor = (name: unknown) => {
      const f = typeof name === 'string' ? entity.fields[name] : undefined;
      return f ? fc.oneof({ weight: 4, arbitrary: this.plausible(entity, f) }, { weight: 1, arbitrary: hostileValue }) : hostileValue;
    };
    const leaf = fieldName.chain((field) =>
      fc.oneof(
        valueFor(field).map((value) => ({ type: 'equals', field, value })),
        fc.array(valueFor(field), { minLength: 0, maxLength: 4 }).map((value) => ({ type: 'equalsAny', field, value })),
        fc.tuple(fc.constantFrom('contains', 'prefix', 'suffix'), fc.oneof(fc.string({ maxLength: 8 }), hostileValue)).map(([type, value]) => ({ type, field, value })),
        fc
          .dictionary(fc.oneof(fc.constantFrom('gt', 'gte', 'lt', 'lte'), hostileName), valueFor(field), { maxKeys: 3 })
          .map((parameters) => ({ type: 'range', field, parameters })),
        fc.oneof(fc.string({ maxLength: 20 }), hostileValue).map((value) => ({ type: 'term', value })),
        fc.record({ type: fc.oneof(hostileName, hostileValue), field: fc.oneof(fc.constant(field), hostileValue), value: hostileValue, parameters: hostileValue }, { requiredKeys: [] }),
      ),
    );
    const { filter } = fc.letrec<{ filter: unknown }>((tie) => ({
      filter: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        { weight: 6, arbitrary: leaf },
        {
          weight: 2,
          arbitrary: fc.record(
            {
              type: fc.constantFrom('multi', 'not'),
              operator: fc.oneof(fc.constantFrom('and', 'or', 'AND', 'Or'), hostileValue),
              queries: fc.oneof({ weight: 5, arbitrary: fc.array(tie('filter'), { minLength: 1, maxLength: 3 }) }, { weight: 1, arbitrary: hostileValue }),
            },
            { requiredKeys: ['type', 'queries'] },
          ),
        },
        { weight: 1, arbitrary: fc.constantFrom(15, 16, 17, 200, 10_000).map((n) => deep(n, 'multi')) },
        { weight: 1, arbitrary: hostileValue },
      ),
    }));
    return fc.oneof(
      { weight: 8, arbitrary: fc.array(filter, { minLength: 1, maxLength: 4 }) },
      { weight: 1, arbitrary: fc.constantFrom(999, 1_000, 1_001, 5_000).map((n) => Array.from({ length: n }, (_, i) => ({ type: 'equals', field: 'id', value: i % 2 ? null : '0189bf2a627a7296adbc83527ba9ac29' }))) },
      { weight: 1, arbitrary: hostileValue },
    );
  }

  /** Filters that are valid for the entity: comparable fields, values of their kind, shallow nesting. */
  private cleanCriteria(entity: EntityDef): fc.Arbitrary<unknown> {
    const comparable = entity.fieldList.filter((f) => f.readable && ['id', 'fk', 'string', 'text', 'int', 'float', 'bool', 'datetime'].includes(f.kind) && !f.format && !f.enum);
    const textual = comparable.filter((f) => f.kind === 'string' || f.kind === 'text');
    const leaf = fc.constantFrom(...comparable).chain((f) =>
      fc.oneof(
        this.plausible(entity, f, true).map((value) => ({ type: 'equals', field: f.name, value })),
        fc.constant({ type: 'equals', field: f.name, value: null }),
        fc.array(this.plausible(entity, f, true), { minLength: 1, maxLength: 4 }).map((value) => ({ type: 'equalsAny', field: f.name, value })),
        ...(textual.length ? [fc.tuple(fc.constantFrom('contains', 'prefix', 'suffix'), fc.constantFrom(...textual), fc.string({ minLength: 1, maxLength: 6 })).map(([type, t, value]) => ({ type, field: t.name, value }))] : []),
        ...(['int', 'float', 'datetime'].includes(f.kind) ? [this.plausible(entity, f, true).map((v) => ({ type: 'range', field: f.name, parameters: { gte: v } }))] : []),
      ),
    );
    const nested = fc.record({ type: fc.constantFrom('multi', 'not'), operator: fc.constantFrom('and', 'or'), queries: fc.array(leaf, { minLength: 1, maxLength: 3 }) });
    return fc.array(fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 1, arbitrary: nested }), { minLength: 1, maxLength: 3 });
  }

  private entityName(): fc.Arbitrary<string> {
    return fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...this.entityNames) }, { weight: 1, arbitrary: fc.oneof(hostileName, fc.constantFrom('PRODUCT', 'product ', 'products', 'bulksync_integration', 'change_log')) });
  }

  /** One operation of a sync body: clean ones could all be written, the others are anything. */
  operation(clean: boolean): fc.Arbitrary<unknown> {
    if (clean) return this.cleanOperation();
    return this.entityName().chain((name) => {
      const entity = this.registry.find(name);
      const known = entity ? name : 'product';
      const e = this.registry.get(known);
      const uniqueFields = e.fieldList.filter((f) => f.unique && !e.primaryKey.includes(f.name)).map((f) => f.name);
      const key = fc.record(Object.fromEntries(e.primaryKey.map((k) => [k, this.plausible(e, e.fields[k]!)])), { requiredKeys: [] });
      const missing = fc.oneof(
        fc.record({ within: this.criteria(known), set: fc.dictionary(fc.oneof(fc.constantFrom(...e.fieldList.map((f) => f.name)), hostileName), hostileValue, { maxKeys: 2 }) }, { requiredKeys: [] }),
        fc.record({ within: this.criteria(known), delete: fc.oneof(fc.constant(true), hostileValue) }, { requiredKeys: [] }),
        hostileValue,
      );
      const upsert = fc.record(
        {
          entity: fc.constant(name),
          action: fc.oneof({ weight: 10, arbitrary: fc.constant('upsert') }, { weight: 1, arbitrary: fc.constantFrom('UPSERT', 'merge', 'insert', '', null, 1) }),
          payload: fc.oneof({ weight: 12, arbitrary: fc.array(this.record(known, 2, false), { minLength: 0, maxLength: 6 }) }, { weight: 1, arbitrary: hostileValue }),
          mode: fc.oneof(fc.constantFrom('merge', 'replace', 'create-only'), hostileValue),
          matchBy: fc.oneof(fc.array(fc.oneof(uniqueFields.length ? fc.constantFrom(...uniqueFields) : hostileName, hostileName), { maxLength: 2 }), hostileValue),
          missing,
          criteria: hostileValue,
        },
        { requiredKeys: ['entity', 'action', 'payload'] },
      );
      const del = fc.record(
        {
          entity: fc.constant(name),
          action: fc.oneof({ weight: 10, arbitrary: fc.constant('delete') }, { weight: 1, arbitrary: fc.constantFrom('DELETE', 'remove') }),
          payload: fc.oneof({ weight: 8, arbitrary: fc.array(fc.oneof({ weight: 8, arbitrary: key }, { weight: 1, arbitrary: hostileValue }), { maxLength: 4 }) }, { weight: 1, arbitrary: hostileValue }),
          criteria: this.criteria(known),
        },
        { requiredKeys: ['entity', 'action'] },
      );
      return fc.oneof({ weight: 8, arbitrary: upsert }, { weight: 4, arbitrary: del }, { weight: 1, arbitrary: fc.dictionary(hostileName, hostileValue, { maxKeys: 4 }) }, { weight: 1, arbitrary: hostileValue });
    });
  }

  private cleanOperation(): fc.Arbitrary<unknown> {
    return fc.constantFrom(...this.entityNames).chain((name) => {
      const e = this.registry.get(name);
      const unique = e.fieldList.filter((f) => f.unique && !e.primaryKey.includes(f.name) && !f.writeProtected).map((f) => f.name);
      const settable = e.fieldList.filter((f) => !f.writeProtected && !f.required && !e.primaryKey.includes(f.name) && f.kind !== 'fk');
      const upsert = fc.record(
        {
          entity: fc.constant(name),
          action: fc.constant('upsert'),
          payload: fc.array(this.record(name, 2, true), { minLength: 1, maxLength: 5 }),
          mode: fc.constantFrom('merge', 'replace', 'create-only'),
          matchBy: unique.length ? fc.uniqueArray(fc.constantFrom(...unique), { minLength: 1, maxLength: 2 }) : fc.constant(undefined),
          // Snapshot clears: rare, since a delete of everything not named empties the catalog.
          missing: fc.oneof(
            { weight: 8, arbitrary: fc.constant(undefined) },
            ...(settable.length
              ? [{ weight: 2, arbitrary: fc.constantFrom(...settable).chain((f) => fc.record({ within: this.cleanCriteria(e), set: this.plausible(e, f, true).map((v) => ({ [f.name]: v })) })) }]
              : []),
            { weight: 1, arbitrary: fc.record({ within: this.cleanCriteria(e), delete: fc.constant(true) }) },
          ),
        },
        { requiredKeys: ['entity', 'action', 'payload'] },
      );
      const keys = e.primaryKey.length === 1 ? fc.array(this.id(name, true).map((id) => ({ [e.primaryKey[0]!]: id })), { minLength: 1, maxLength: 3 }) : undefined;
      const del = fc.oneof(
        ...(keys ? [fc.record({ entity: fc.constant(name), action: fc.constant('delete'), payload: keys })] : []),
        fc.record({ entity: fc.constant(name), action: fc.constant('delete'), criteria: this.cleanCriteria(e) }),
      );
      return fc.oneof({ weight: 5, arbitrary: upsert }, { weight: 1, arbitrary: del });
    });
  }

  private syncHeaders(): fc.Arbitrary<Record<string, string>> {
    const value = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 12 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')), fc.constantFrom('', ' ', 'TRUE', 'yes', '2', 'product.search', 'category.tree, nope'));
    return fc.record(
      {
        'fail-on-error': fc.oneof({ weight: 4, arbitrary: fc.constantFrom('true', 'false', '0', '1') }, { weight: 1, arbitrary: value }),
        'indexing-behavior': fc.oneof({ weight: 4, arbitrary: fc.constantFrom('use-queue-indexing', 'disable-indexing', '') }, { weight: 1, arbitrary: value }),
        'indexing-skip': value,
      },
      { requiredKeys: [] },
    );
  }

  /** `POST /api/_action/sync` with a body that is mostly JSON of mostly plausible operations. */
  sync(): fc.Arbitrary<FuzzRequest> {
    const keyedBody = (ops: fc.Arbitrary<unknown[]>, keyName: fc.Arbitrary<string>) =>
      fc.tuple(ops, fc.array(keyName, { minLength: 4, maxLength: 4 })).map(([list, keys]) => {
        const body: Record<string, unknown> = {};
        list.forEach((op, i) => Object.defineProperty(body, `${keys[i]}${i}`, { value: op, enumerable: true, writable: true, configurable: true }));
        return body;
      });
    const plainKey = fc.stringMatching(/^[a-z-]{1,10}$/);
    // Clean bodies: every operation could be written, headers valid.
    const cleanOps = fc.array(this.cleanOperation(), { minLength: 1, maxLength: 3 });
    const clean = fc.tuple(fc.oneof({ weight: 4, arbitrary: keyedBody(cleanOps, plainKey) }, { weight: 1, arbitrary: cleanOps }), this.cleanHeaders()).map(([b, headers]) =>
      toRequest('sync', '/api/_action/sync', b, headers, JSON_ONLY),
    );
    const ops = fc.array(fc.oneof({ weight: 1, arbitrary: this.cleanOperation() }, { weight: 2, arbitrary: this.operation(false) }), { minLength: 0, maxLength: 4 });
    const body = fc.oneof(
      { weight: 8, arbitrary: keyedBody(ops, fc.oneof({ weight: 6, arbitrary: plainKey }, { weight: 1, arbitrary: hostileName })) },
      { weight: 2, arbitrary: ops },
      { weight: 1, arbitrary: hostileValue },
    );
    const hostile = fc.tuple(body, this.syncHeaders(), rawVariant).map(([b, headers, variant]) => toRequest('sync', '/api/_action/sync', b, headers, variant));
    // One defect in an otherwise clean body: validation must catch it alone, or the database meets it.
    const oneDefect = fc
      .tuple(fc.oneof({ weight: 4, arbitrary: keyedBody(cleanOps, plainKey) }, { weight: 1, arbitrary: cleanOps }), fc.nat(), hostileValue, this.cleanHeaders())
      .map(([b, at, v, headers]) => toRequest('sync', '/api/_action/sync', withOneDefect(b, at, v), headers, JSON_ONLY));
    return fc.oneof({ weight: 2, arbitrary: clean }, { weight: 2, arbitrary: hostile }, { weight: 1, arbitrary: oneDefect });
  }

  private cleanHeaders(): fc.Arbitrary<Record<string, string>> {
    return fc.record(
      { 'fail-on-error': fc.constantFrom('true', 'false'), 'indexing-behavior': fc.constantFrom('use-queue-indexing', 'disable-indexing') },
      { requiredKeys: [] },
    );
  }

  /** A search body that is valid for the entity. */
  private cleanSearch(e: EntityDef): fc.Arbitrary<unknown> {
    const sortable = e.fieldList.filter((f) => f.readable && ['id', 'fk', 'string', 'text', 'int', 'float', 'bool', 'datetime'].includes(f.kind)).map((f) => f.name);
    const assocNames = Object.keys(e.associations);
    return fc.record(
      {
        filter: this.cleanCriteria(e),
        sort: fc.uniqueArray(fc.constantFrom(...sortable), { maxLength: 2 }).chain((fields) => fc.tuple(...fields.map((field) => fc.constantFrom('ASC', 'DESC').map((order) => ({ field, order }))))),
        limit: fc.integer({ min: 1, max: 500 }),
        page: fc.integer({ min: 1, max: 5 }),
        associations: assocNames.length ? fc.uniqueArray(fc.constantFrom(...assocNames), { maxLength: 2 }) : fc.constant([]),
        'total-count-mode': fc.constantFrom('none', 'exact'),
        ids: e.primaryKey.length === 1 ? fc.array(this.id(e.name, true), { minLength: 1, maxLength: 3 }) : fc.constant(undefined),
        term: fc.constantFrom('shirt', 'linen', 'Product 1', 'coat scarf'),
      },
      { requiredKeys: [] },
    );
  }

  /** `POST /api/search/<entity>` with a criteria body. */
  search(): fc.Arbitrary<FuzzRequest> {
    return this.entityName().chain((name) => {
      const e = this.registry.find(name) ?? this.registry.get('product');
      const fieldNames = e.fieldList.map((f) => f.name);
      const assocNames = Object.keys(e.associations);
      const path = fc.array(fc.oneof(assocNames.length ? fc.constantFrom(...assocNames) : hostileName, fc.constantFrom('tax', 'parent', 'children', 'categories', 'options', 'group'), hostileName), { minLength: 1, maxLength: 6 }).map((p) => p.join('.'));
      const body = fc.record(
        {
          filter: fc.oneof(this.criteria(name), fc.constant([])),
          sort: fc.oneof(fc.array(fc.record({ field: fc.oneof(fc.constantFrom(...fieldNames), hostileName), order: fc.oneof(fc.constantFrom('ASC', 'DESC', 'asc'), hostileValue), naturalSorting: hostileValue }, { requiredKeys: ['field'] }), { maxLength: 9 }), hostileValue),
          limit: fc.oneof(fc.integer({ min: -1, max: 600 }), hostileValue),
          page: fc.oneof(fc.integer({ min: -1, max: 1e9 }), hostileValue),
          after: fc.oneof(fc.string({ maxLength: 40 }).map((s) => Buffer.from(s).toString('base64url')), fc.record({ o: fc.constant(`${e.name}:id:ASC`), v: fc.array(hostileValue, { maxLength: 2 }) }).map((c) => Buffer.from(JSON.stringify(c)).toString('base64url')), hostileValue),
          associations: fc.oneof(fc.array(path, { maxLength: 5 }), fc.dictionary(fc.oneof(assocNames.length ? fc.constantFrom(...assocNames) : hostileName, hostileName), fc.oneof(fc.constant({}), hostileValue), { maxKeys: 3 }), hostileValue),
          fields: fc.oneof(fc.array(fc.oneof(fc.constantFrom(...fieldNames), path, hostileName), { maxLength: 5 }), hostileValue),
          'total-count-mode': fc.oneof(fc.constantFrom('none', 'exact', 0, 1, 2), hostileValue),
          ids: fc.oneof(fc.array(this.id(e.name), { maxLength: 4 }), hostileValue),
          term: fc.oneof(fc.string({ maxLength: 20 }), hostileValue),
          junk: hostileValue,
        },
        { requiredKeys: [] },
      );
      const entityInPath = fc.oneof({ weight: 10, arbitrary: fc.constant(name) }, { weight: 1, arbitrary: fc.constantFrom('%00', '..%2f', 'product%00', '%E0%A4%A', 'product?x=1', 'a'.repeat(300)) });
      const hostile = fc.tuple(entityInPath, fc.oneof({ weight: 10, arbitrary: body }, { weight: 1, arbitrary: hostileValue }), rawVariant).map(([entityPath, b, variant]) =>
        toRequest('search', `/api/search/${entityPath}`, b, {}, variant),
      );
      const clean = this.cleanSearch(e).map((b) => toRequest('search', `/api/search/${e.name}`, b, {}, JSON_ONLY));
      const oneDefect = fc.tuple(this.cleanSearch(e), fc.nat(), hostileValue).map(([b, at, v]) => toRequest('search', `/api/search/${e.name}`, withOneDefect(b, at, v), {}, JSON_ONLY));
      return fc.oneof({ weight: 2, arbitrary: clean }, { weight: 2, arbitrary: hostile }, { weight: 1, arbitrary: oneDefect });
    });
  }
}

/** Most bodies go out as JSON; some are cut short, sent as another type or not JSON at all. */
type RawVariant = 'json' | 'truncated' | 'text-plain' | 'garbage' | 'gzip-claimed';
const rawVariant: fc.Arbitrary<{ variant: RawVariant; cut: number; garbage: string }> = fc.record({
  variant: fc.oneof({ weight: 30, arbitrary: fc.constant<RawVariant>('json') }, { weight: 1, arbitrary: fc.constantFrom<RawVariant>('truncated', 'text-plain', 'garbage', 'gzip-claimed') }),
  cut: fc.nat(),
  garbage: fc.string({ unit: 'binary', maxLength: 40 }),
});

/**
 * A copy of `body` with the value at one of its places (the `at`-th, counting every property and list item,
 * containers included) replaced by `value`.
 */
function withOneDefect(body: unknown, at: number, value: unknown): unknown {
  const copy = structuredClone(body);
  const places: [Record<string | number, unknown>, string | number][] = [];
  const walk = (v: unknown) => {
    if (v === null || typeof v !== 'object') return;
    for (const key of Object.keys(v)) {
      const k = Array.isArray(v) ? Number(key) : key;
      places.push([v as Record<string | number, unknown>, k]);
      walk((v as Record<string | number, unknown>)[k]);
    }
  };
  walk(copy);
  if (!places.length) return value;
  const [parent, key] = places[at % places.length]!;
  parent[key] = value;
  return copy;
}

const JSON_ONLY = { variant: 'json' as RawVariant, cut: 0, garbage: '' };

function toRequest(kind: 'sync' | 'search', path: string, body: unknown, headers: Record<string, string>, raw: { variant: RawVariant; cut: number; garbage: string }): FuzzRequest {
  let text = expandDeep(JSON.stringify(body) ?? 'null');
  const h: Record<string, string> = { 'content-type': 'application/json', ...headers };
  switch (raw.variant) {
    case 'truncated':
      text = text.slice(0, text.length > 1 ? raw.cut % (text.length - 1) : 0);
      break;
    case 'text-plain':
      h['content-type'] = 'text/plain';
      break;
    case 'garbage':
      text = raw.garbage;
      break;
    case 'gzip-claimed':
      h['content-encoding'] = 'gzip';
      break;
  }
  const label = `${kind} ${path.slice(0, 80)} ${JSON.stringify(h)} ${raw.variant} (${text.length} characters): ${text.slice(0, 600)}${text.length > 600 ? '…' : ''}`;
  return { kind, path, headers: h, body: text, label };
}
