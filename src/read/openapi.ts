import type { Registry } from '../definitions/registry';
import type { EntityDef, FieldDef } from '../definitions/types';
import { DEFAULT_LIMIT, MAX_LIMIT } from './search-request';
import { DEFAULT_CHANGES_LIMIT, MAX_CHANGES_LIMIT } from './changes-request';

type Schema = Record<string, unknown>;

const ID: Schema = { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'UUID as 32 lowercase hex characters' };
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

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
  if (e.isMapping) schema.description = `mapping entity, keyed by ${e.primaryKey.join(' + ')}`;
  return schema;
}

const ERRORS: Schema = {
  type: 'object',
  required: ['errors'],
  properties: {
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['status', 'code', 'title', 'detail'],
        properties: {
          status: { type: 'string' },
          code: { type: 'string' },
          title: { type: 'string' },
          detail: { type: 'string' },
          source: { type: 'object', properties: { pointer: { type: 'string' } } },
          meta: { type: 'object' },
        },
      },
    },
  },
};

const errorResponse = (description: string) => ({ description, content: { 'application/vnd.api+json': { schema: ref('Errors') } } });

function criteriaSchema(e: EntityDef): Schema {
  const fieldNames = e.fieldList.filter((f) => f.readable).map((f) => f.name);
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      filter: { type: 'array', items: ref('Filter'), description: 'combined with AND; absent or empty: every record' },
      ids: { type: 'array', items: ID },
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
    field: { type: 'string' },
    value: {},
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

/** The OpenAPI 3.1 document of the service, derived from the registered definitions. */
export function openApiDocument(registry: Registry, version: string): Schema {
  const schemas: Record<string, Schema> = {
    Errors: ERRORS,
    Filter: FILTER,
    Changes: CHANGES,
    SyncOperation: {
      type: 'object',
      required: ['entity', 'action'],
      properties: {
        key: { type: 'string' },
        entity: { type: 'string', enum: registry.names() },
        action: { type: 'string', enum: ['upsert', 'delete'] },
        payload: { type: 'array', items: { type: 'object' } },
        criteria: { type: 'array', items: ref('Filter') },
        mode: { type: 'string', enum: ['merge', 'replace', 'create-only'] },
      },
    },
  };
  const paths: Record<string, Schema> = {};
  const security = [{ bearer: [] }];
  for (const e of registry.all()) {
    schemas[e.name] = entitySchema(e);
    if (e.primaryKey.length === 1) {
      paths[`/api/${e.name}/{id}`] = {
        get: {
          operationId: `read_${e.name}`,
          summary: `One ${e.name} (needs ${e.name}:read)`,
          tags: [e.name],
          security,
          parameters: [
            { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
            { name: 'associations', in: 'query', required: false, schema: { type: 'string' }, description: 'comma-separated association paths' },
          ],
          responses: {
            200: { description: 'the record', content: { 'application/json': { schema: { type: 'object', required: ['data'], properties: { data: ref(e.name) } } } } },
            400: errorResponse('malformed id or association'),
            403: errorResponse('missing read privilege'),
            404: errorResponse('no such record'),
          },
        },
      };
    }
    paths[`/api/search/${e.name}`] = {
      post: {
        operationId: `search_${e.name}`,
        summary: `Search ${e.name} (needs ${e.name}:read)`,
        tags: [e.name],
        security,
        requestBody: { required: false, content: { 'application/json': { schema: criteriaSchema(e) } } },
        responses: {
          200: {
            description: 'a page of records',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  required: ['data'],
                  properties: { data: { type: 'array', items: ref(e.name) }, total: { type: 'integer' }, next: { type: 'string' } },
                },
              },
            },
          },
          400: errorResponse('invalid criteria (CRITERIA_INVALID with a pointer into the body)'),
          403: errorResponse('missing read privilege'),
        },
      },
    };
  }
  paths['/api/_action/sync'] = {
    post: {
      operationId: 'sync',
      summary: 'Bulk upsert and delete across entities (needs <entity>:upsert / <entity>:delete); see docs/sync-api.md',
      tags: ['sync'],
      security,
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              oneOf: [{ type: 'object', additionalProperties: ref('SyncOperation') }, { type: 'array', items: ref('SyncOperation') }],
            },
          },
        },
      },
      responses: {
        200: { description: 'written, deleted and not found keys per entity', content: { 'application/json': { schema: { type: 'object' } } } },
        400: errorResponse('invalid request (every error, with pointers)'),
        403: errorResponse('missing write privilege'),
        409: errorResponse('unique or restrict conflict'),
      },
    },
  };
  paths['/api/_action/changes'] = {
    get: {
      operationId: 'changes',
      summary: 'Change feed: what changed since a cursor, deletions included',
      tags: ['changes'],
      security,
      parameters: [
        { name: 'entity', in: 'query', schema: { type: 'string' }, description: 'comma-separated entity names' },
        { name: 'since', in: 'query', schema: { type: 'string' }, description: '"next" of a previous answer, or "now"' },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: MAX_CHANGES_LIMIT, default: DEFAULT_CHANGES_LIMIT } },
      ],
      responses: {
        200: { description: 'entries in commit-consistent order', content: { 'application/json': { schema: ref('Changes') } } },
        400: errorResponse('invalid or expired cursor, unknown entity'),
        403: errorResponse('missing read privilege'),
      },
    },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'bulksync', version },
    components: { schemas, securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'POST /api/oauth/token (client credentials)' } } },
    paths,
  };
}
