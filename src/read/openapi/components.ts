/** The `components` section of the OpenAPI document: every schema, parameter, header, response and security scheme. */
import type { Registry } from '../../definitions/registry';
import { type HeaderParameter, type Schema, ref, header, ID, ID_INPUT, REQUEST_ID_PATTERN, JSON_API } from './common';
import { entitySchema, resolversByEntity, resolverSchema, writeSchema, keySchema } from './entities';
import { importComponents } from './imports';
import { AGGREGATION, AGGREGATION_RESULT } from './search';
import { upsertOperation, deleteOperation, ERROR, ERRORS, FILTER, CHANGES, syncKeys, SYNC_RESULT, SYNC_COUNTS, INDEXER_STATUS } from './operations';
import { PREVIEW_CHANGES, PREVIEW_RECORD, SYNC_PREVIEW } from './preview';

export function components(registry: Registry, indexerNames: string[], syncHeaders: readonly HeaderParameter[]): Schema {
  const resolvers = resolversByEntity(registry);
  const schemas: Record<string, Schema> = {
    IdInput: ID_INPUT,
    ApiKey: { oneOf: [ID, { type: 'object', additionalProperties: ID, description: 'the key of a mapping entity' }] },
    Error: ERROR,
    Errors: ERRORS,
    Filter: FILTER,
    Aggregation: AGGREGATION,
    AggregationResult: AGGREGATION_RESULT,
    Changes: CHANGES,
    SyncKeys: syncKeys(registry),
    SyncResult: SYNC_RESULT,
    SyncCounts: SYNC_COUNTS,
    SyncPreview: SYNC_PREVIEW,
    PreviewChanges: PREVIEW_CHANGES,
    PreviewRecord: PREVIEW_RECORD,
    SyncOperation: {
      // A read-only entity (webhook_delivery) is refused by the sync: no operation of it.
      oneOf: registry.all().filter((e) => !e.readOnly).flatMap((e) => [ref(`${e.name}.upsert`), ref(`${e.name}.delete`)]),
      description: 'one operation: an entity, an action (upsert or delete) and its records, keys or criteria; see docs/sync-api.md',
    },
    IndexerStatus: INDEXER_STATUS,
  };
  const imports = importComponents();
  Object.assign(schemas, imports.schemas);
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
      ReadFrom: {
        name: 'read-from',
        in: 'header',
        required: false,
        schema: { type: 'string', enum: ['replica', 'primary'], default: 'replica' },
        description:
          'with DATABASE_READ_URL set, GET and search read a streaming replica, which may lag behind a sync that just returned; primary reads the primary instead (read-your-writes). Without a replica both read the primary. Another value is HEADER_INVALID. See docs/read-api.md.',
      },
      // The sync route's headers, from its one table (src/sync/options.ts), handed in by the HTTP edge.
      ...Object.fromEntries(syncHeaders.map((h) => [h.component, h.parameter])),
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
      ...imports.headers,
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
      ClientError: {
        description:
          'Any other client error, as JSON:API errors with a stable code: 404 NOT_FOUND for a path or method no route takes, 400 for a malformed request, 405/406/415 where the method or media type does not fit',
        headers: { 'x-request-id': header('XRequestId') },
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
        description: 'The same token, fetched with the client credentials flow. client_id and client_secret go in the body (JSON or form-encoded) or in an HTTP Basic header (client_secret_basic: the url-encoded id and secret).',
        flows: { clientCredentials: { tokenUrl: '/api/oauth/token', scopes: {} } },
      },
    },
  };
}

/** The OpenAPI 3.1 document of the service, derived from the registered definitions. */
