/** The OpenAPI 3.1 document of the service, assembled from the entity schemas and the operations. */
import type { Registry } from '../../definitions/registry';
import { DEFAULT_CHANGES_LIMIT, MAX_CHANGES_LIMIT } from '../changes-request';
import { MAX_REPORTED_ERRORS } from '../../errors';
import { type HeaderParameter, type Schema, ref, param, header, response, BEARER, OPEN } from './common';
import { COMMON_RESPONSES, errorResponse, jsonResponse } from './operations';
import { previewable } from './preview';
import { criteriaSchema, SEARCH_HEADERS, searchAnswer, searchQueryParameters } from './search';
import { components } from './components';
import { indexingPaths } from './indexing-paths';
import { importSyncAdditions, syncJobPaths } from './imports';

/** sw-language-id naming no language (routes that answer or write translated fields). */
const LANGUAGE_UNKNOWN = errorResponse(412, 'sw-language-id names no language', ['LANGUAGE_NOT_FOUND']);

/** What the document says about the service itself. */
export interface DocumentInfo {
  /** package.json's version. */
  version: string;
  /** package.json's license: an SPDX id, or UNLICENSED for a proprietary service. */
  license: string;
  /** OPENAPI_PUBLIC: this document and its viewer are served without a token. */
  publicDocs: boolean;
  /** The sync route's header parameters, from the route's own table of headers (given the indexer names). */
  syncHeaders: (indexerNames: readonly string[]) => readonly HeaderParameter[];
}

/** Every operation answers a range of client errors besides the ones it names (a generated client types them all). */
function withClientErrors(paths: Record<string, Schema>): void {
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item) as { responses: Record<string, unknown> }[]) op.responses['4XX'] ??= response('ClientError');
  }
}

/**
 * A property with a `default` is one a client may leave out, but code generators (openapi-typescript with its default
 * options, among others) take `default` as "always present" and make it required in the types they generate. Request
 * schemas therefore state their defaults in the description (and `x-default`), not in `default`.
 */
function defaultsToDescriptions(node: unknown): void {
  if (Array.isArray(node)) {
    for (const n of node) defaultsToDescriptions(n);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const o = node as Schema;
  if ('default' in o && !('$ref' in o)) {
    const shown = JSON.stringify(o.default);
    o.description = typeof o.description === 'string' ? `${o.description} (default: ${shown})` : `default: ${shown}`;
    o['x-default'] = o.default;
    delete o.default;
  }
  for (const v of Object.values(o)) defaultsToDescriptions(v);
}

export function openApiDocument(registry: Registry, { version, license, publicDocs, syncHeaders }: DocumentInfo): Schema {
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
            { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' }, description: 'the ETag of an earlier answer: 304 without a body while it is unchanged' },
            param('ReadFrom'),
            ...common,
          ],
          responses: {
            200: jsonResponse('the record', { type: 'object', required: ['data'], properties: { data: ref(e.name) } }, SEARCH_HEADERS),
            304: { description: 'unchanged since the ETag given in If-None-Match' },
            400: errorResponse(400, 'malformed id or association, or a read-from header other than primary or replica', ['ID_INVALID', 'CRITERIA_INVALID', 'HEADER_INVALID']),
            403: errorResponse(403, 'missing read privilege'),
            404: errorResponse(404, 'no such record'),
            ...(e.translation ? { 412: LANGUAGE_UNKNOWN } : {}),
            ...COMMON_RESPONSES,
          },
        },
      };
    }
    const searchResponses = (status400: string) => ({
      200: jsonResponse('a page of records (and the aggregations asked for)', searchAnswer(e), SEARCH_HEADERS),
      400: errorResponse(400, status400, ['CRITERIA_INVALID', 'BODY_NOT_JSON', 'HEADER_INVALID']),
      403: errorResponse(403, 'missing read privilege'),
      ...(e.translation ? { 412: LANGUAGE_UNKNOWN } : {}),
      ...COMMON_RESPONSES,
    });
    paths[`/api/search/${e.name}`] = {
      post: {
        operationId: `search_${e.name}`,
        summary: `Search ${e.name} (needs ${e.name}:read)`,
        tags: [e.name],
        security: BEARER,
        parameters: [param('ReadFrom'), ...common],
        requestBody: { required: false, content: { 'application/json': { schema: criteriaSchema(e) } } },
        responses: {
          ...searchResponses('invalid criteria (CRITERIA_INVALID with a pointer into the body), a body that is not JSON, or a bad read-from header'),
          413: errorResponse(413, 'a body over 1 MB', ['BODY_TOO_LARGE']),
        },
      },
      get: {
        operationId: `search_${e.name}_get`,
        summary: `Search ${e.name}, criteria as query parameters (needs ${e.name}:read); revalidates with If-None-Match`,
        tags: [e.name],
        security: BEARER,
        parameters: [...searchQueryParameters(e), param('ReadFrom'), ...common],
        responses: { ...searchResponses('invalid criteria (CRITERIA_INVALID pointing at the parameter), or a bad read-from header'), 304: { description: 'unchanged since the ETag given in If-None-Match' } },
      },
    };
  }

  const imports = importSyncAdditions();
  const headerParams = syncHeaders(indexerNames);
  paths['/api/_action/sync'] = {
    post: {
      operationId: 'sync',
      summary: 'Bulk upsert and delete across entities, in one transaction',
      description:
        'Needs <entity>:upsert for every entity an upsert writes (nested ones included) and <entity>:delete for every entity a delete can reach (cascades included). ' +
        `Validation reports every error it finds (up to ${MAX_REPORTED_ERRORS}) before anything is written. See docs/sync-api.md.`,
      tags: ['sync'],
      security: BEARER,
      parameters: [...headerParams.map((h) => param(h.component)), ...common],
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
          'application/x-ndjson': {
            schema: { type: 'string', description: 'one JSON value per line: {"operation": {…header without payload…}}, then its records (or keys), one per line' },
          },
        },
      },
      responses: {
        200: previewable(jsonResponse('written (data), deleted, not found and skipped keys per entity (counts with Prefer: return=minimal); with fail-on-error: false also the errors of the records rolled back; a dry run with Prefer: return=representation adds its preview (SyncPreview, or NDJSON with Accept: application/x-ndjson)', { oneOf: [ref('SyncResult'), ref('SyncCounts'), ref('SyncPreview')] }, {
          'x-indexing': header('XIndexing'),
          'x-sync-errors': header('XSyncErrors'),
          ...imports.okHeaders,
          'Preference-Applied': header('PreferenceApplied'),
          'x-indexing-skip-ignored': { description: "Shopware indexer names of indexing-skip that bulksync does not have (ignored)", schema: { type: 'string' } },
        })),
        202: imports.responses[202]!,
        400: errorResponse(400, 'an invalid request: every error found, each with a pointer; errors of several classes together answer 400 too'),
        403: errorResponse(403, 'the integration lacks privileges the request needs: one error per privilege (meta.privilege); nothing was written'),
        409: imports.responses[409]!,
        422: imports.responses[422]!,
        412: LANGUAGE_UNKNOWN,
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

  Object.assign(paths, syncJobPaths(common, BEARER));
  Object.assign(paths, indexingPaths(indexerNames, common));

  paths['/api/oauth/token'] = {
    post: {
      operationId: 'token',
      summary: 'An access token for an integration (client credentials)',
      description:
        'The only route under /api that needs no token. The client id and secret go in the body or in an HTTP Basic header (client_secret_basic, RFC 6749 §2.3.1: base64 of the url-encoded id, ":" and the url-encoded secret), not both. Failed attempts are limited per client id and address (TOKEN_FAILURES_PER_15_MINUTES, 10 by default); successful ones do not count.',
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
                required: ['grant_type'],
                properties: {
                  grant_type: { const: 'client_credentials' },
                  client_id: { type: 'string', description: 'needed unless an HTTP Basic header carries it' },
                  client_secret: { type: 'string', format: 'password', description: 'needed unless an HTTP Basic header carries it' },
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

  // With OPENAPI_PUBLIC the document and its viewer are open (and no rate limit applies to them).
  const docsSecurity = publicDocs ? OPEN : BEARER;
  const docsResponses = publicDocs ? { 500: response('Internal') } : COMMON_RESPONSES;
  paths['/api/_info/openapi.json'] = {
    get: {
      operationId: 'openapi',
      summary: publicDocs ? 'This document (no token: OPENAPI_PUBLIC=true)' : 'This document',
      tags: ['info'],
      security: docsSecurity,
      parameters: common,
      responses: { 200: jsonResponse('the OpenAPI 3.1 document of the service, derived from the entity definitions', { type: 'object' }), ...docsResponses },
    },
  };
  paths['/api/_info/docs'] = {
    get: {
      operationId: 'apiViewer',
      summary: publicDocs ? 'A browsable viewer of this document (Swagger UI, served by the service; no token: OPENAPI_PUBLIC=true)' : 'A browsable viewer of this document (Swagger UI, served by the service)',
      description: 'Without OPENAPI_PUBLIC=true it needs a token like every /api route, which a browser does not send by itself: set OPENAPI_PUBLIC=true to browse it.',
      tags: ['info'],
      security: docsSecurity,
      parameters: common,
      responses: { 200: { description: 'the viewer page', content: { 'text/html': { schema: { type: 'string' } } } }, ...docsResponses },
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
      summary: 'The database answers (and the read replica, when DATABASE_READ_URL is set)',
      tags: ['operations'],
      security: OPEN,
      responses: { 200: jsonResponse('ready', status), 503: jsonResponse('database unavailable or read replica unavailable', status) },
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

  withClientErrors(paths);
  const componentSet = components(registry, indexerNames, headerParams) as { schemas?: unknown };
  defaultsToDescriptions(componentSet.schemas);
  for (const item of Object.values(paths)) for (const op of Object.values(item) as { requestBody?: unknown }[]) defaultsToDescriptions(op.requestBody);
  return {
    openapi: '3.1.0',
    info: {
      title: 'bulksync',
      version,
      // UNLICENSED is npm's word for "no license granted", not an SPDX id: it goes in the name only.
      license: license === 'UNLICENSED' ? { name: 'UNLICENSED (proprietary: no license granted)' } : { name: license, identifier: license },
      description:
        'Bulk sync (Shopware 6 Sync API style) and read endpoints for the entities defined in schemas/. Every entity has a read schema (`<entity>`) and a write schema (`<entity>.write`). Guides: docs/sync-api.md, docs/sync-jobs.md, docs/read-api.md, docs/security.md, docs/indexing.md.',
    },
    // Relative: the paths are answered by whichever host served this document.
    servers: [{ url: '/', description: 'the service that served this document' }],
    tags: [
      { name: 'sync', description: 'POST /api/_action/sync' },
      { name: 'changes', description: 'the change feed' },
      { name: 'indexing', description: 'derived fields: full re-index and status' },
      { name: 'auth', description: 'access tokens' },
      { name: 'info', description: 'this document and its viewer' },
      { name: 'operations', description: 'health, readiness and metrics (no token)' },
      ...registry.names().map((name) => ({ name, description: `read and search ${name}` })),
    ],
    components: componentSet,
    paths,
  };
}
