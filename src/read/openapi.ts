import { STRING_MAX_LENGTH, TEXT_MAX_LENGTH } from '../definitions/kinds';
import type { Registry } from '../definitions/registry';
import type { EntityDef, FieldDef, ResolverDef } from '../definitions/types';
import { ERROR_CODES, MAX_REPORTED_ERRORS } from '../errors';
import { MAX_NESTING } from '../sync/plan';
import { DEFAULT_LIMIT, MAX_LIMIT } from './search-request';
import { DEFAULT_CHANGES_LIMIT, MAX_CHANGES_LIMIT } from './changes-request';

type Schema = Record<string, unknown>;

/**
 * Component names. Entities are snake_case, so the generic schemas (PascalCase) never collide with them; an
 * entity's other schemas are `<entity>.write`, `<entity>.key`, `<entity>.resolver`, `<entity>.upsert`,
 * `<entity>.delete`.
 */
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const param = (name: string): Schema => ({ $ref: `#/components/parameters/${name}` });
const header = (name: string): Schema => ({ $ref: `#/components/headers/${name}` });
const response = (name: string): Schema => ({ $ref: `#/components/responses/${name}` });

/** An id as the API answers it. */
const ID: Schema = { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'UUID as 32 lowercase hex characters' };
/** An id as the API accepts it. */
const ID_INPUT: Schema = {
  type: 'string',
  pattern: '^([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$',
  description: 'UUID: 32 hex characters, or the dashed form',
};
const REQUEST_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';
const MODES = ['merge', 'replace', 'create-only'];
const JSON_API = 'application/vnd.api+json';
/** Every route under /api but the token route: an access token, pasted or fetched with client credentials. */
const BEARER = [{ bearer: [] }, { oauth2: [] }];
const OPEN: unknown[] = [];

/** The answered value of a field, as JSON Schema (OpenAPI 3.1 dialect). */
function fieldSchema(f: FieldDef): Schema {
  let s: Schema;
  switch (f.kind) {
    case 'id':
    case 'fk':
      s = { ...ID };
      break;
    case 'string':
    case 'text':
      s = { type: 'string' };
      if (f.maxLength !== undefined) s.maxLength = f.maxLength;
      if (f.enum) s.enum = f.enum;
      if (f.format === 'email') s.format = 'email';
      if (f.format === 'url') s.format = 'uri';
      break;
    case 'int':
    case 'float':
      s = { type: f.kind === 'int' ? 'integer' : 'number' };
      if (f.min !== undefined) s.minimum = f.min;
      if (f.max !== undefined) s.maximum = f.max;
      break;
    case 'bool':
      s = { type: 'boolean' };
      break;
    case 'json':
      s = f.jsonSchema ? { ...f.jsonSchema } : {};
      break;
    case 'idList':
      s = { type: 'array', items: ID };
      break;
    case 'datetime':
      s = { type: 'string', format: 'date-time' };
      break;
    case 'tsvector':
      s = { type: 'string' };
      break;
  }
  if (f.writeProtected) s.readOnly = true;
  // Every answered field is present; a value may be null unless the column cannot hold one.
  return f.nullable || f.writeProtected ? { anyOf: [s, { type: 'null' }] } : s;
}

/** What the writer accepts for a field, not null, without resolvers: the same bounds as its validator. */
function inputSchema(f: FieldDef): Schema {
  switch (f.kind) {
    case 'id':
    case 'fk':
      return ref('IdInput');
    case 'string':
    case 'text': {
      if (f.enum) return { type: 'string', enum: f.enum };
      const s: Schema = { type: 'string', maxLength: f.maxLength ?? (f.kind === 'text' ? TEXT_MAX_LENGTH : STRING_MAX_LENGTH) };
      if (f.minLength !== undefined) s.minLength = f.minLength;
      if (f.pattern) s.pattern = f.pattern;
      if (f.format === 'email') s.format = 'email';
      if (f.format === 'url') s.format = 'uri';
      return s;
    }
    case 'int':
      return { type: 'integer', minimum: f.min ?? -2147483648, maximum: f.max ?? 2147483647 };
    case 'float': {
      const s: Schema = { type: 'number' };
      if (f.min !== undefined) s.minimum = f.min;
      if (f.max !== undefined) s.maximum = f.max;
      return s;
    }
    case 'bool':
      return { type: 'boolean' };
    case 'json':
      return f.jsonSchema ? { ...f.jsonSchema } : { description: 'any JSON value' };
    case 'idList':
      return { type: 'array', items: ref('IdInput') };
    case 'datetime':
      return { type: 'string', format: 'date-time', description: 'ISO 8601 with an offset' };
    case 'tsvector':
      return { type: 'string' };
  }
}

function entitySchema(e: EntityDef): Schema {
  const properties: Record<string, Schema> = {};
  const fields = e.fieldList.filter((f) => f.readable);
  for (const f of fields) properties[f.name] = fieldSchema(f);
  for (const a of Object.values(e.associations)) {
    const target = ref(a.entity);
    properties[a.name] =
      a.type === 'manyToOne'
        ? { anyOf: [target, { type: 'null' }], description: `loaded when "${a.name}" is among the associations` }
        : { type: 'array', items: target, description: `loaded when "${a.name}" is among the associations` };
  }
  const schema: Schema = { type: 'object', required: [...e.primaryKey], properties };
  schema.description = `${e.name} as the read endpoints answer it${e.isMapping ? ` (mapping entity, keyed by ${e.primaryKey.join(' + ')})` : ''}; written with ${e.name}.write`;
  return schema;
}

/** The resolvers of the registry, grouped per entity and per key (a field's aliases share one entry). */
function resolversByEntity(registry: Registry): Map<string, { def: ResolverDef; names: string[] }[]> {
  const out = new Map<string, { def: ResolverDef; names: string[] }[]>();
  for (const name of registry.resolverNames()) {
    const def = registry.resolver(name)!;
    const list = out.get(def.entity.name) ?? [];
    const key = def.fields.map((f) => f.name).join('+');
    const same = list.find((r) => r.def.fields.map((f) => f.name).join('+') === key);
    if (same) same.names.push(name);
    else list.push({ def, names: [name] });
    out.set(def.entity.name, list);
  }
  return out;
}

/** `{ "resolver": "<entity>.<key>", "value": …, "nullOnMissing": false }`: one alternative per unique key. */
function resolverSchema(entity: string, resolvers: { def: ResolverDef; names: string[] }[]): Schema {
  const variants = resolvers.map(({ def, names }) => {
    const single = def.fields.length === 1;
    const value: Schema = single
      ? inputSchema(def.fields[0]!)
      : {
          type: 'object',
          required: def.fields.map((f) => f.name),
          additionalProperties: false,
          properties: Object.fromEntries(def.fields.map((f) => [f.name, inputSchema(f)])),
        };
    return {
      type: 'object',
      required: ['resolver', 'value'],
      additionalProperties: false,
      properties: {
        resolver: { type: 'string', enum: names },
        value: { ...value, description: single ? `the ${def.fields[0]!.name} to look up` : `the fields of the key ${def.fields.map((f) => f.name).join(' + ')}` },
        nullOnMissing: {
          type: 'boolean',
          default: false,
          description: 'true: a value that finds nothing gives null (only where the field may be null; on a record\'s own id: the record is created with a new id) instead of REFERENCE_UNRESOLVED',
        },
      },
    };
  });
  return {
    ...(variants.length === 1 ? variants[0]! : { oneOf: variants }),
    description: `names a ${entity} by a unique key instead of its id; looked up once per resolver and operation, finds records written earlier in the same request`,
  };
}

/** A field of a record sent to the sync endpoint: its input value, a resolver for ids and foreign keys, null if allowed. */
function writeFieldSchema(e: EntityDef, f: FieldDef, resolvers: Map<string, unknown>): Schema {
  const alternatives: Schema[] = [inputSchema(f)];
  const target = f.kind === 'fk' ? f.references! : f.kind === 'id' ? e.name : undefined;
  if (target && resolvers.has(target)) alternatives.push(ref(`${target}.resolver`));
  if (f.nullable) alternatives.push({ type: 'null' });
  const s: Schema = alternatives.length === 1 ? { ...alternatives[0]! } : { oneOf: alternatives };
  const notes: string[] = [];
  if (e.primaryKey.length === 1 && e.primaryKey[0] === f.name) {
    notes.push(
      `the record's id: an existing id merges into that record, a new one creates it; left out, the record is matched by ${
        [...e.matchKeys.map((k) => k.join(' + ')), 'matchBy'].join(', ')
      } or created with a new id (UUIDv7)`,
    );
  } else if (e.primaryKey.includes(f.name)) notes.push(`part of the key of ${e.name}: always needed`);
  else if (f.required) notes.push(`required to create a ${e.name}`);
  if (f.kind === 'fk') notes.push(`references ${f.references} (on delete: ${f.onDelete})`);
  if (notes.length) s.description = notes.join('; ');
  if (f.default !== undefined) s.default = f.default;
  return s;
}

/** A record as the sync endpoint takes it: writable fields only, nested associated records, resolvers. */
function writeSchema(registry: Registry, e: EntityDef, resolvers: Map<string, unknown>): Schema {
  const properties: Record<string, Schema> = {};
  const writable = e.fieldList.filter((f) => !f.writeProtected);
  for (const f of writable) properties[f.name] = writeFieldSchema(e, f, resolvers);
  for (const a of Object.values(e.associations)) {
    const target = ref(`${a.entity}.write`);
    if (a.type === 'manyToOne') {
      properties[a.name] = {
        ...target,
        description: `a ${a.entity} record, upserted (or, with only its id, referenced) and linked through ${a.via}; ${a.via} may be given too if it names the same record`,
      };
    } else if (a.type === 'oneToMany') {
      properties[a.name] = { type: 'array', items: target, description: `${a.entity} records, upserted with ${a.foreignKey} set to this record` };
    } else {
      properties[a.name] = {
        type: 'array',
        items: target,
        description: `${a.entity} records linked through ${registry.get(a.mapping).name}: links are only added (existing ones kept); records with more than an id are upserted`,
      };
    }
  }
  const requiredOnCreate = [...new Set([...e.primaryKey.filter(() => e.primaryKey.length > 1), ...writable.filter((f) => f.required).map((f) => f.name)])];
  return {
    type: 'object',
    additionalProperties: false,
    properties,
    'x-required-on-create': requiredOnCreate,
    description:
      `A ${e.name} record for POST /api/_action/sync. An existing record is merged (only the fields given change), so no field is ` +
      `required in general; creating one needs ${requiredOnCreate.length ? requiredOnCreate.join(', ') : 'no field'} (x-required-on-create) — ` +
      `unless the record it is nested in, or a nested many-to-one record, provides it — and mode replace needs them on every record. ` +
      `Write-protected fields (${e.fieldList.filter((f) => f.writeProtected).map((f) => f.name).join(', ')}) are not accepted. ` +
      `Nested records go at most ${MAX_NESTING} levels deep.`,
  };
}

/** A delete payload item: the primary key, ids only. */
function keySchema(e: EntityDef): Schema {
  return {
    type: 'object',
    required: [...e.primaryKey],
    properties: Object.fromEntries(e.primaryKey.map((k) => [k, ref('IdInput')])),
    propertyNames: { enum: e.fieldList.map((f) => f.name) },
    description: `the key of a ${e.name} to delete (other fields of ${e.name} are ignored, unknown ones are FIELD_UNKNOWN)`,
  };
}

const OPERATION_KEY: Schema = { type: 'string', description: 'the operation\'s key in the list form (default: its position); error pointers start with it' };

function upsertOperation(e: EntityDef): Schema {
  const properties: Record<string, Schema> = {
    key: OPERATION_KEY,
    entity: { type: 'string', const: e.name },
    action: { type: 'string', const: 'upsert', description: 'matched case-insensitively' },
    payload: { type: 'array', items: ref(`${e.name}.write`), description: `the ${e.name} records, written in order` },
    mode: {
      type: 'string',
      enum: MODES,
      default: 'merge',
      description: 'merge: only the fields given change; replace: fields not given go back to their default or null; create-only: existing records are left untouched and listed under skipped. Nested records are always merged.',
    },
  };
  const unique = e.fieldList.filter((f) => f.unique && !e.primaryKey.includes(f.name)).map((f) => f.name);
  if (unique.length) {
    properties.matchBy = {
      type: 'array',
      minItems: 1,
      items: { type: 'string', enum: unique },
      description: 'unique fields that find an existing record for a record sent without id, tried in order after the match keys (externalId); the operation\'s own records only',
    };
  }
  const settable = e.fieldList.filter((f) => !f.writeProtected && !e.primaryKey.includes(f.name));
  const missing: Schema = {
    type: 'object',
    required: ['within'],
    additionalProperties: false,
    properties: {
      within: { type: 'array', minItems: 1, items: ref('Filter'), description: 'the snapshot: records of the entity matching these filters (AND)' },
      delete: { const: true, description: 'delete the records of the snapshot the payload did not name (with the delete rules)' },
    },
    description: 'after the payload is written, every record inside within that the payload did not name (by id, externalId or matchBy) gets set applied, or is deleted',
  };
  if (settable.length) {
    (missing.properties as Record<string, Schema>).set = {
      type: 'object',
      minProperties: 1,
      additionalProperties: false,
      properties: Object.fromEntries(settable.map((f) => [f.name, f.nullable ? { anyOf: [inputSchema(f), { type: 'null' }] } : inputSchema(f)])),
      description: 'fields to set on those records (no keys, no resolvers)',
    };
    missing.oneOf = [{ required: ['set'] }, { required: ['delete'] }];
  } else missing.required = ['within', 'delete'];
  properties.missing = missing;
  return { type: 'object', title: `upsert ${e.name}`, required: ['entity', 'action', 'payload'], additionalProperties: false, properties };
}

function deleteOperation(e: EntityDef): Schema {
  return {
    type: 'object',
    title: `delete ${e.name}`,
    required: ['entity', 'action'],
    additionalProperties: false,
    properties: {
      key: OPERATION_KEY,
      entity: { type: 'string', const: e.name },
      action: { type: 'string', const: 'delete', description: 'matched case-insensitively' },
      payload: { type: 'array', items: ref(`${e.name}.key`), description: 'keys to delete; keys that do not exist are listed under notFound' },
      criteria: { type: 'array', minItems: 1, items: ref('Filter'), description: 'instead of payload: every matching record is deleted' },
    },
    oneOf: [{ required: ['payload'] }, { required: ['criteria'] }],
  };
}

const ERROR: Schema = {
  type: 'object',
  required: ['status', 'code', 'title', 'detail'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', pattern: '^[45][0-9]{2}$', description: 'the HTTP status of this error\'s code, as a string' },
    code: { type: 'string', enum: Object.keys(ERROR_CODES), description: 'stable: programs branch on it' },
    title: { type: 'string', description: 'the title of the code' },
    detail: { type: 'string', description: 'what is wrong, for people; never SQL or a stack trace' },
    source: {
      type: 'object',
      required: ['pointer'],
      additionalProperties: false,
      properties: { pointer: { type: 'string', description: 'JSON pointer into the request body: /<operation key>/<record index>/<field>…; "" for the body as a whole' } },
    },
    meta: {
      type: 'object',
      additionalProperties: true,
      properties: {
        operation: { type: 'string' },
        entity: { type: 'string' },
        index: { type: 'integer' },
        privilege: { type: 'string', description: 'FORBIDDEN: the privilege that is missing' },
        resolver: { type: 'string' },
        referencedBy: { type: 'string' },
      },
    },
  },
};

const ERRORS: Schema = {
  type: 'object',
  required: ['errors'],
  additionalProperties: false,
  properties: { errors: { type: 'array', minItems: 1, maxItems: MAX_REPORTED_ERRORS, items: ref('Error') } },
  description: 'JSON:API error document',
};

const codesWith = (status: number): string[] => Object.entries(ERROR_CODES).filter(([, d]) => d.status === status).map(([c]) => c);

/** An error answer; `description` says when, and the codes of that status are listed after it. */
function errorResponse(status: number, description: string, codes = codesWith(status)): Schema {
  return {
    description: `${description} (${codes.join(', ')})`,
    headers: { 'x-request-id': header('XRequestId') },
    content: { [JSON_API]: { schema: ref('Errors') } },
  };
}

function jsonResponse(description: string, schema: Schema, headers: Record<string, Schema> = {}): Schema {
  return { description, headers: { 'x-request-id': header('XRequestId'), ...headers }, content: { 'application/json': { schema } } };
}

/** Answers every route under /api can give besides its own: no token, too many requests, a fault. */
const COMMON_RESPONSES = { 401: response('Unauthenticated'), 429: response('RateLimited'), 500: response('Internal') };

function criteriaSchema(e: EntityDef): Schema {
  const fieldNames = e.fieldList.filter((f) => f.readable).map((f) => f.name);
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      filter: { type: 'array', items: ref('Filter'), description: 'combined with AND; absent or empty: every record' },
      ids: { type: 'array', items: ID_INPUT },
      term: { type: 'string', description: 'full-text search over the entity\'s tsvector field' },
      sort: {
        type: 'array',
        items: {
          type: 'object',
          required: ['field'],
          properties: { field: { type: 'string', enum: fieldNames }, order: { type: 'string', enum: ['ASC', 'DESC', 'asc', 'desc'] }, naturalSorting: { type: 'boolean' } },
        },
      },
      limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT },
      page: { type: 'integer', minimum: 1 },
      after: { type: 'string', description: '"next" of a previous answer (keyset pagination); not with page' },
      associations: { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'object' }], description: `association paths of ${e.name}: ${Object.keys(e.associations).join(', ') || 'none'}` },
      fields: { type: 'array', items: { type: 'string' } },
      'total-count-mode': { oneOf: [{ type: 'string', enum: ['none', 'exact'] }, { type: 'integer', enum: [0, 1] }] },
    },
  };
}

const FILTER: Schema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['equals', 'equalsAny', 'contains', 'prefix', 'suffix', 'range', 'term', 'not', 'multi'] },
    field: { type: 'string', description: 'an API field name of the entity' },
    value: { description: 'checked like the field\'s values on upsert' },
    parameters: { type: 'object', properties: { gt: {}, gte: {}, lt: {}, lte: {} } },
    operator: { type: 'string', enum: ['and', 'or'] },
    queries: { type: 'array', items: { $ref: '#/components/schemas/Filter' } },
  },
};

const CHANGES: Schema = {
  type: 'object',
  required: ['data', 'next'],
  properties: {
    data: {
      type: 'array',
      items: {
        type: 'object',
        required: ['entity', 'id', 'op', 'at'],
        properties: {
          entity: { type: 'string' },
          id: { oneOf: [ID, { type: 'object', additionalProperties: ID, description: 'key of a mapping entity' }] },
          op: { type: 'string', enum: ['upsert', 'delete'] },
          at: { type: 'string', format: 'date-time' },
        },
      },
    },
    next: { type: 'string' },
  },
};

/** Keys per entity, as the sync answers them: `[]` when empty (as Shopware sends an empty map), else entity → keys. */
function syncKeys(registry: Registry): Schema {
  return {
    oneOf: [
      { type: 'array', maxItems: 0, description: 'none' },
      {
        type: 'object',
        minProperties: 1,
        propertyNames: { enum: registry.names() },
        additionalProperties: { type: 'array', items: ref('ApiKey') },
        description: 'entity (alphabetical) → keys, in write order',
      },
    ],
  };
}

const SYNC_RESULT: Schema = {
  type: 'object',
  required: ['extensions', 'data', 'notFound', 'deleted'],
  additionalProperties: false,
  properties: {
    extensions: { type: 'array', maxItems: 0, description: 'always empty (Shopware compatibility)' },
    data: { ...ref('SyncKeys'), description: 'every record written (nested ones and mapping rows included), per entity' },
    notFound: { ...ref('SyncKeys'), description: 'keys of deletes that found no record' },
    deleted: { ...ref('SyncKeys'), description: 'every record deleted, cascades included' },
    skipped: { ...ref('SyncKeys'), description: 'present when an operation used mode create-only: the existing records it left alone' },
    errors: {
      type: 'array',
      items: ref('Error'),
      description: 'present with fail-on-error: false: the records rolled back, as JSON:API errors with pointers (x-sync-errors counts them)',
    },
  },
};

const INDEXER_STATUS: Schema = {
  type: 'object',
  required: ['indexer', 'entity', 'queued', 'running', 'retrying', 'deadLettered', 'lastError', 'lastErrorAt', 'lastCompletedAt'],
  additionalProperties: false,
  properties: {
    indexer: { type: 'string' },
    entity: { type: 'string', description: 'the entity whose fields it derives' },
    queued: { type: 'integer', minimum: 0, description: 'jobs waiting' },
    running: { type: 'integer', minimum: 0, description: 'jobs a worker holds' },
    retrying: { type: 'integer', minimum: 0, description: 'failed at least once, waiting for the next attempt' },
    deadLettered: { type: 'integer', minimum: 0, description: 'failed INDEXING_MAX_ATTEMPTS times' },
    lastError: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    lastErrorAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
    lastCompletedAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }], description: 'end of the last successful run' },
  },
};

function components(registry: Registry, indexerNames: string[]): Schema {
  const resolvers = resolversByEntity(registry);
  const schemas: Record<string, Schema> = {
    IdInput: ID_INPUT,
    ApiKey: { oneOf: [ID, { type: 'object', additionalProperties: ID, description: 'the key of a mapping entity' }] },
    Error: ERROR,
    Errors: ERRORS,
    Filter: FILTER,
    Changes: CHANGES,
    SyncKeys: syncKeys(registry),
    SyncResult: SYNC_RESULT,
    SyncOperation: {
      oneOf: registry.all().flatMap((e) => [ref(`${e.name}.upsert`), ref(`${e.name}.delete`)]),
      description: 'one operation: an entity, an action (upsert or delete) and its records, keys or criteria; see docs/sync-api.md',
    },
    IndexerStatus: INDEXER_STATUS,
  };
  for (const e of registry.all()) {
    schemas[e.name] = entitySchema(e);
    schemas[`${e.name}.write`] = writeSchema(registry, e, resolvers);
    schemas[`${e.name}.key`] = keySchema(e);
    const own = resolvers.get(e.name);
    if (own) schemas[`${e.name}.resolver`] = resolverSchema(e.name, own);
    schemas[`${e.name}.upsert`] = upsertOperation(e);
    schemas[`${e.name}.delete`] = deleteOperation(e);
  }
  return {
    schemas,
    parameters: {
      RequestId: {
        name: 'x-request-id',
        in: 'header',
        required: false,
        schema: { type: 'string', pattern: REQUEST_ID_PATTERN },
        description: 'echoed in the answer and carried by the log lines of the request; absent or not of this form: a new UUID is made',
      },
      IndexingBehavior: {
        name: 'indexing-behavior',
        in: 'header',
        required: false,
        schema: { type: 'string', enum: ['use-queue-indexing', 'disable-indexing'] },
        description:
          'absent: derived fields are computed in the request\'s transaction (x-indexing: inline); use-queue-indexing: one durable job per indexer, committed with the data (x-indexing: queued <n>); disable-indexing: nothing is indexed (x-indexing: disabled). Any other value is HEADER_INVALID. See docs/indexing.md.',
      },
      IndexingSkip: {
        name: 'indexing-skip',
        in: 'header',
        required: false,
        schema: { type: 'string' },
        example: indexerNames.join(','),
        description: `comma-separated indexer names left out of this request (${indexerNames.join(', ') || 'none defined'}); an unknown name is HEADER_INVALID`,
      },
      FailOnError: {
        name: 'fail-on-error',
        in: 'header',
        required: false,
        schema: { type: 'string', enum: ['true', 'false'], default: 'true' },
        description:
          'true: all or nothing. false: each failing record is rolled back alone (with everything nested in it), the rest is committed, and the 200 answer lists the errors (x-sync-errors). 1 and 0 are accepted too, in any case; another value is HEADER_INVALID.',
      },
    },
    headers: {
      XRequestId: { description: 'the x-request-id sent, or a new one; quoted by INTERNAL errors and in the log', schema: { type: 'string', pattern: REQUEST_ID_PATTERN } },
      XIndexing: { description: 'what indexing-behavior did: inline, queued <jobs added>, or disabled', schema: { type: 'string', pattern: '^(inline|disabled|queued [0-9]+)$' } },
      XSyncErrors: {
        description: 'with fail-on-error: false only: how many errors the answer lists (records rolled back), 0 included',
        schema: { type: 'string', pattern: '^[0-9]+$' },
      },
      RetryAfter: { description: 'seconds to wait before trying again', schema: { type: 'string', pattern: '^[0-9]+$' } },
      RateLimit: { description: 'the remaining quota (IETF draft 8 RateLimit header)', schema: { type: 'string' } },
      RateLimitPolicy: { description: 'the quota policy (IETF draft 8 RateLimit-Policy header)', schema: { type: 'string' } },
    },
    responses: {
      Unauthenticated: {
        description: 'UNAUTHENTICATED: no Bearer token, an expired or invalid one, or a revoked integration; nothing was read or written',
        headers: {
          'x-request-id': header('XRequestId'),
          'WWW-Authenticate': { description: 'Bearer realm="bulksync", error=…, error_description=…', schema: { type: 'string' } },
        },
        content: { [JSON_API]: { schema: ref('Errors') } },
      },
      RateLimited: {
        description: 'RATE_LIMITED: more requests of this integration in a minute than RATE_LIMIT_PER_MINUTE (1,200 by default)',
        headers: {
          'x-request-id': header('XRequestId'),
          'Retry-After': header('RetryAfter'),
          RateLimit: header('RateLimit'),
          'RateLimit-Policy': header('RateLimitPolicy'),
        },
        content: { [JSON_API]: { schema: ref('Errors') } },
      },
      Internal: {
        description: 'INTERNAL: a fault of the service; the detail quotes the request id, the log has the rest',
        headers: { 'x-request-id': header('XRequestId') },
        content: { [JSON_API]: { schema: ref('Errors') } },
      },
    },
    securitySchemes: {
      bearer: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'An access token of an integration from POST /api/oauth/token (grant_type client_credentials): a JWT signed with HS256 that expires after TOKEN_TTL_SECONDS (600 by default). Every route under /api but the token route needs it.',
      },
      oauth2: {
        type: 'oauth2',
        description: 'The same token, fetched with the client credentials flow. client_id and client_secret go in the body (JSON or form-encoded); an HTTP Basic header is not read.',
        flows: { clientCredentials: { tokenUrl: '/api/oauth/token', scopes: {} } },
      },
    },
  };
}

/** The OpenAPI 3.1 document of the service, derived from the registered definitions. */
export function openApiDocument(registry: Registry, version: string): Schema {
  const indexerNames = registry
    .all()
    .flatMap((e) => e.indexers.map((i) => i.name))
    .sort();
  const paths: Record<string, Schema> = {};
  const common = [param('RequestId')];

  for (const e of registry.all()) {
    if (e.primaryKey.length === 1) {
      paths[`/api/${e.name}/{id}`] = {
        get: {
          operationId: `read_${e.name}`,
          summary: `One ${e.name} (needs ${e.name}:read)`,
          tags: [e.name],
          security: BEARER,
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'associations', in: 'query', required: false, schema: { type: 'string' }, description: 'comma-separated association paths' },
            ...common,
          ],
          responses: {
            200: jsonResponse('the record', { type: 'object', required: ['data'], properties: { data: ref(e.name) } }),
            400: errorResponse(400, 'malformed id or association', ['ID_INVALID', 'CRITERIA_INVALID']),
            403: errorResponse(403, 'missing read privilege'),
            404: errorResponse(404, 'no such record'),
            ...COMMON_RESPONSES,
          },
        },
      };
    }
    paths[`/api/search/${e.name}`] = {
      post: {
        operationId: `search_${e.name}`,
        summary: `Search ${e.name} (needs ${e.name}:read)`,
        tags: [e.name],
        security: BEARER,
        parameters: common,
        requestBody: { required: false, content: { 'application/json': { schema: criteriaSchema(e) } } },
        responses: {
          200: jsonResponse('a page of records', {
            type: 'object',
            required: ['data'],
            properties: { data: { type: 'array', items: ref(e.name) }, total: { type: 'integer' }, next: { type: 'string' } },
          }),
          400: errorResponse(400, 'invalid criteria (CRITERIA_INVALID with a pointer into the body) or a body that is not JSON', ['CRITERIA_INVALID', 'BODY_NOT_JSON']),
          403: errorResponse(403, 'missing read privilege'),
          413: errorResponse(413, 'a body over 1 MB', ['BODY_TOO_LARGE']),
          ...COMMON_RESPONSES,
        },
      },
    };
  }

  paths['/api/_action/sync'] = {
    post: {
      operationId: 'sync',
      summary: 'Bulk upsert and delete across entities, in one transaction',
      description:
        'Needs <entity>:upsert for every entity an upsert writes (nested ones included) and <entity>:delete for every entity a delete can reach (cascades included). ' +
        `Validation reports every error it finds (up to ${MAX_REPORTED_ERRORS}) before anything is written. See docs/sync-api.md.`,
      tags: ['sync'],
      security: BEARER,
      parameters: [param('IndexingBehavior'), param('IndexingSkip'), param('FailOnError'), ...common],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              oneOf: [
                { type: 'object', minProperties: 1, additionalProperties: ref('SyncOperation'), description: 'operations keyed by name, run in the order given' },
                { type: 'array', minItems: 1, items: ref('SyncOperation'), description: 'operations in order; each may carry a key (default: its position)' },
              ],
            },
          },
        },
      },
      responses: {
        200: jsonResponse('written (data), deleted, not found and skipped keys per entity; with fail-on-error: false also the errors of the records rolled back', ref('SyncResult'), {
          'x-indexing': header('XIndexing'),
          'x-sync-errors': header('XSyncErrors'),
        }),
        400: errorResponse(400, 'an invalid request: every error found, each with a pointer; errors of several classes together answer 400 too'),
        403: errorResponse(403, 'the integration lacks privileges the request needs: one error per privilege (meta.privilege); nothing was written'),
        409: errorResponse(409, 'a unique value already used, or a delete blocked by a restrict rule; nothing was written'),
        413: errorResponse(413, 'the body exceeds SYNC_MAX_BODY_BYTES, or holds more records than SYNC_MAX_RECORDS'),
        503: errorResponse(503, 'concurrent writes kept deadlocking after every retry (SYNC_MAX_RETRIES); nothing was written, the request may be sent again'),
        ...COMMON_RESPONSES,
      },
    },
  };

  paths['/api/_action/changes'] = {
    get: {
      operationId: 'changes',
      summary: 'Change feed: what changed since a cursor, deletions included',
      tags: ['changes'],
      security: BEARER,
      parameters: [
        { name: 'entity', in: 'query', schema: { type: 'string' }, description: 'comma-separated entity names' },
        { name: 'since', in: 'query', schema: { type: 'string' }, description: '"next" of a previous answer, or "now"' },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_CHANGES_LIMIT, default: DEFAULT_CHANGES_LIMIT } },
        ...common,
      ],
      responses: {
        200: jsonResponse('entries in commit-consistent order', ref('Changes')),
        400: errorResponse(400, 'invalid or expired cursor, bad limit, unknown entity', ['VALUE_INVALID', 'ENTITY_UNKNOWN']),
        403: errorResponse(403, 'missing read privilege'),
        ...COMMON_RESPONSES,
      },
    },
  };

  paths['/api/_action/index'] = {
    post: {
      operationId: 'index',
      summary: 'Queue a full re-index (needs indexing:run)',
      description: 'Every chosen indexer re-derives its fields for every record, in batches of 1,000 records worked by the queue workers. See docs/indexing.md.',
      tags: ['indexing'],
      security: BEARER,
      parameters: common,
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              properties: {
                indexers: { type: 'array', items: { type: 'string', enum: indexerNames }, description: 'only these indexers' },
                entities: { type: 'array', items: { type: 'string' }, description: 'only the indexers of these entities, or listening to them' },
              },
              description: '{} queues every indexer',
            },
          },
        },
      },
      responses: {
        202: jsonResponse('the indexers queued', {
          type: 'object',
          required: ['data'],
          properties: { data: { type: 'object', required: ['queued'], properties: { queued: { type: 'array', items: { type: 'string' } } } } },
        }),
        400: errorResponse(400, 'an unknown indexer or entity, or a body that is not a JSON object', ['OPERATION_INVALID', 'VALUE_INVALID', 'BODY_NOT_JSON']),
        403: errorResponse(403, 'the integration lacks indexing:run'),
        413: errorResponse(413, 'a body over 1 MB', ['BODY_TOO_LARGE']),
        ...COMMON_RESPONSES,
      },
    },
  };

  paths['/api/_action/indexing/status'] = {
    get: {
      operationId: 'indexingStatus',
      summary: 'Jobs and last runs of every indexer (any valid token)',
      tags: ['indexing'],
      security: BEARER,
      parameters: common,
      responses: {
        200: jsonResponse('one entry per indexer', { type: 'object', required: ['data'], properties: { data: { type: 'array', items: ref('IndexerStatus') } } }),
        ...COMMON_RESPONSES,
      },
    },
  };

  paths['/api/oauth/token'] = {
    post: {
      operationId: 'token',
      summary: 'An access token for an integration (client credentials)',
      description:
        'The only route under /api that needs no token. Failed attempts are limited per client id and address (TOKEN_FAILURES_PER_15_MINUTES, 10 by default); successful ones do not count.',
      tags: ['auth'],
      security: OPEN,
      parameters: common,
      requestBody: {
        required: true,
        content: Object.fromEntries(
          ['application/json', 'application/x-www-form-urlencoded'].map((type) => [
            type,
            {
              schema: {
                type: 'object',
                required: ['grant_type', 'client_id', 'client_secret'],
                properties: {
                  grant_type: { const: 'client_credentials' },
                  client_id: { type: 'string' },
                  client_secret: { type: 'string', format: 'password' },
                },
              },
            },
          ]),
        ),
      },
      responses: {
        200: jsonResponse(
          'the token',
          {
            type: 'object',
            required: ['token_type', 'expires_in', 'access_token'],
            additionalProperties: false,
            properties: {
              token_type: { const: 'Bearer' },
              expires_in: { type: 'integer', description: 'seconds (TOKEN_TTL_SECONDS)' },
              access_token: { type: 'string', description: 'a JWT; send it as Authorization: Bearer <token>' },
            },
          },
          { 'Cache-Control': { description: 'no-store', schema: { type: 'string' } } },
        ),
        400: errorResponse(400, 'grant_type is not client_credentials, or the body is not valid JSON', ['VALUE_INVALID', 'BODY_NOT_JSON']),
        401: {
          ...errorResponse(401, 'unknown client, revoked integration or wrong secret'),
          headers: { 'x-request-id': header('XRequestId'), 'WWW-Authenticate': { description: 'Basic realm="bulksync"', schema: { type: 'string' } } },
        },
        413: errorResponse(413, 'a body over 16 kB', ['BODY_TOO_LARGE']),
        429: {
          ...errorResponse(429, 'too many failed attempts for this client id and address; refused even with the right secret until the window passes'),
          headers: { 'x-request-id': header('XRequestId'), 'Retry-After': header('RetryAfter'), RateLimit: header('RateLimit'), 'RateLimit-Policy': header('RateLimitPolicy') },
        },
        500: response('Internal'),
      },
    },
  };

  paths['/api/_info/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: 'This document',
      tags: ['info'],
      security: BEARER,
      parameters: common,
      responses: { 200: jsonResponse('the OpenAPI 3.1 document of the service, derived from the entity definitions', { type: 'object' }), ...COMMON_RESPONSES },
    },
  };

  // Outside /api: open (keep them on a private network; see docs/security.md).
  const status = { type: 'object', required: ['status'], properties: { status: { type: 'string' } } };
  paths['/health'] = {
    get: { operationId: 'health', summary: 'The process answers', tags: ['operations'], security: OPEN, responses: { 200: jsonResponse('alive', status) } },
  };
  paths['/ready'] = {
    get: {
      operationId: 'ready',
      summary: 'The database answers',
      tags: ['operations'],
      security: OPEN,
      responses: { 200: jsonResponse('ready', status), 503: jsonResponse('database unavailable', status) },
    },
  };
  paths['/metrics'] = {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      tags: ['operations'],
      security: OPEN,
      responses: { 200: { description: 'metrics in the Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: 'bulksync',
      version,
      description:
        'Bulk sync (Shopware 6 Sync API style) and read endpoints for the entities defined in schemas/. Every entity has a read schema (<entity>) and a write schema (<entity>.write). Guides: docs/sync-api.md, docs/read-api.md, docs/security.md, docs/indexing.md.',
    },
    tags: [
      { name: 'sync', description: 'POST /api/_action/sync' },
      { name: 'changes', description: 'the change feed' },
      { name: 'indexing', description: 'derived fields: full re-index and status' },
      { name: 'auth', description: 'access tokens' },
      { name: 'info', description: 'this document' },
      { name: 'operations', description: 'health, readiness and metrics (no token)' },
      ...registry.names().map((name) => ({ name, description: `read and search ${name}` })),
    ],
    components: components(registry, indexerNames),
    paths,
  };
}
