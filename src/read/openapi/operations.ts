/** OpenAPI schemas of the operations: sync operations and answers, errors, criteria, feed, indexing status. */
import type { Registry } from '../../definitions/registry';
import type { EntityDef } from '../../definitions/types';
import { ERROR_CODES, MAX_REPORTED_ERRORS } from '../../errors';
import { type Schema, ref, header, response, ID, MODES, JSON_API } from './common';
import { inputSchema } from './entities';

export const OPERATION_KEY: Schema = { type: 'string', description: 'the operation\'s key in the list form (default: its position); error pointers start with it' };

export function upsertOperation(e: EntityDef): Schema {
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
      maxRatio: { type: 'number', minimum: 0, maximum: 1, description: 'clear guard: refuse (CLEAR_GUARD) when more than this share of the records inside within would be cleared; default SYNC_CLEAR_MAX_RATIO (0.5)' },
      maxRecords: { type: 'integer', minimum: 0, description: 'clear guard: refuse (CLEAR_GUARD) when more records than this would be cleared' },
      force: { type: 'boolean', description: 'true: no clear guard (an empty snapshot clears everything inside within)' },
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

export function deleteOperation(e: EntityDef): Schema {
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

export const ERROR: Schema = {
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

export const ERRORS: Schema = {
  type: 'object',
  required: ['errors'],
  additionalProperties: false,
  properties: { errors: { type: 'array', minItems: 1, maxItems: MAX_REPORTED_ERRORS, items: ref('Error') } },
  description: 'JSON:API error document',
};

export const codesWith = (status: number): string[] => Object.entries(ERROR_CODES).filter(([, d]) => d.status === status).map(([c]) => c);

/** An error answer; `description` says when, and the codes of that status are listed after it. */
export function errorResponse(status: number, description: string, codes = codesWith(status)): Schema {
  return {
    description: `${description} (${codes.join(', ')})`,
    headers: { 'x-request-id': header('XRequestId') },
    content: { [JSON_API]: { schema: ref('Errors') } },
  };
}

export function jsonResponse(description: string, schema: Schema, headers: Record<string, Schema> = {}): Schema {
  return { description, headers: { 'x-request-id': header('XRequestId'), ...headers }, content: { 'application/json': { schema } } };
}

/** Answers every route under /api can give besides its own: no token, too many requests, a fault. */
export const COMMON_RESPONSES = { 401: response('Unauthenticated'), 429: response('RateLimited'), 500: response('Internal') };

export const FILTER: Schema = {
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

export const CHANGES: Schema = {
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
          _version: {
            anyOf: [{ type: 'string' }, { type: 'null' }],
            description: 'upserts only: the record\'s current _version (as GET answers it), null when it was deleted since; compare it with a cached copy\'s to skip re-reading records a storefront already has',
          },
        },
      },
    },
    next: { type: 'string' },
  },
};

/** Keys per entity, as the sync answers them: `[]` when empty (as Shopware sends an empty map), else entity → keys. */
export function syncKeys(registry: Registry): Schema {
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

export const SYNC_RESULT: Schema = {
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

const COUNTS: Schema = { type: 'object', additionalProperties: { type: 'integer', minimum: 1 }, description: 'entity → number of records' };

/** The answer with Prefer: return=minimal. */
export const SYNC_COUNTS: Schema = {
  type: 'object',
  required: ['extensions', 'counts'],
  additionalProperties: false,
  properties: {
    extensions: { type: 'array', maxItems: 0, description: 'always empty (Shopware compatibility)' },
    counts: {
      type: 'object',
      required: ['data', 'deleted', 'notFound', 'skipped', 'unchanged'],
      additionalProperties: false,
      properties: {
        data: COUNTS,
        deleted: COUNTS,
        notFound: COUNTS,
        skipped: COUNTS,
        unchanged: { ...COUNTS, description: 'entity → records counted under data that were stored already as sent, and not written' },
      },
    },
    errors: { type: 'array', items: ref('Error'), description: 'present with fail-on-error: false, as with ids' },
  },
};

export const INDEXER_STATUS: Schema = {
  type: 'object',
  required: [
    'indexer', 'entity', 'queued', 'running', 'retrying', 'deadLettered', 'pending', 'failing', 'dead', 'pendingIds', 'deadIds', 'deadJobs',
    'lastError', 'lastErrorAt', 'lastCompletedAt',
  ],
  additionalProperties: false,
  properties: {
    indexer: { type: 'string' },
    entity: { type: 'string', description: 'the entity whose fields it derives' },
    queued: { type: 'integer', minimum: 0, description: 'jobs waiting' },
    running: { type: 'integer', minimum: 0, description: 'jobs a worker holds' },
    retrying: { type: 'integer', minimum: 0, description: 'failed at least once, waiting for the next attempt' },
    deadLettered: { type: 'integer', minimum: 0, description: 'jobs that failed INDEXING_MAX_ATTEMPTS times' },
    pending: { type: 'integer', minimum: 0, description: 'ids whose derived fields are stale and will be recomputed' },
    failing: { type: 'integer', minimum: 0, description: 'of the pending ids, those that failed and wait for their next attempt' },
    dead: { type: 'integer', minimum: 0, description: 'ids that failed INDEXING_MAX_ATTEMPTS times, kept with their error' },
    pendingIds: { type: 'array', items: { type: 'string' }, description: 'the oldest pending ids (at most 20)' },
    deadIds: {
      type: 'array',
      description: 'the latest dead ids (at most 20)',
      items: {
        type: 'object',
        required: ['id', 'attempts', 'error', 'failedAt'],
        properties: {
          id: { type: 'string' },
          attempts: { type: 'integer' },
          error: { anyOf: [{ type: 'string' }, { type: 'null' }] },
          failedAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
        },
      },
    },
    deadJobs: {
      type: 'array',
      description: 'the latest dead jobs (at most 20)',
      items: {
        type: 'object',
        required: ['id', 'task', 'attempts', 'error', 'failedAt'],
        properties: {
          id: { type: 'string' },
          task: { type: 'string' },
          attempts: { type: 'integer' },
          error: { anyOf: [{ type: 'string' }, { type: 'null' }] },
          failedAt: { type: 'string', format: 'date-time' },
        },
      },
    },
    lastError: { anyOf: [{ type: 'string' }, { type: 'null' }] },
    lastErrorAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
    lastCompletedAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }], description: 'end of the last successful run' },
  },
};
