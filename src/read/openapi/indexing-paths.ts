/** The indexing actions of the OpenAPI document: full re-index, retry of dead work, status. */
import { type Schema, ref, BEARER } from './common';
import { COMMON_RESPONSES, errorResponse, jsonResponse } from './operations';

export function indexingPaths(indexerNames: readonly string[], common: readonly Schema[]): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  // The body of the indexing actions: which indexers they act on.
  const indexerChoice = (description: string) => ({
    required: true,
    content: {
      'application/json': {
        schema: {
          type: 'object',
          properties: {
            indexers: { type: 'array', items: { type: 'string', enum: indexerNames }, description: 'only these indexers' },
            entities: { type: 'array', items: { type: 'string' }, description: 'only the indexers of these entities, or listening to them' },
          },
          description,
        },
      },
    },
  });

  out['/api/_action/index'] = {
    post: {
      operationId: 'index',
      summary: 'Queue a full re-index (needs indexing:run)',
      description: 'Every chosen indexer re-derives its fields for every record, in batches of 1,000 records worked by the queue workers. See docs/indexing.md.',
      tags: ['indexing'],
      security: BEARER,
      parameters: common,
      requestBody: indexerChoice('{} queues every indexer'),
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

  out['/api/_action/indexing/retry'] = {
    post: {
      operationId: 'indexingRetry',
      summary: 'Re-run dead indexing work (needs indexing:run)',
      description: 'Dead ids of the chosen indexers become pending again and dead jobs are rescheduled, attempts reset. See docs/indexing.md.',
      tags: ['indexing'],
      security: BEARER,
      parameters: common,
      requestBody: indexerChoice('{} retries every indexer'),
      responses: {
        202: jsonResponse('what was given a fresh start', {
          type: 'object',
          required: ['data'],
          properties: {
            data: {
              type: 'object',
              required: ['indexers', 'ids', 'jobs'],
              properties: { indexers: { type: 'array', items: { type: 'string' } }, ids: { type: 'integer' }, jobs: { type: 'integer' } },
            },
          },
        }),
        400: errorResponse(400, 'an unknown indexer or entity, or a body that is not a JSON object', ['OPERATION_INVALID', 'VALUE_INVALID', 'BODY_NOT_JSON']),
        403: errorResponse(403, 'the integration lacks indexing:run'),
        413: errorResponse(413, 'a body over 1 MB', ['BODY_TOO_LARGE']),
        ...COMMON_RESPONSES,
      },
    },
  };

  out['/api/_action/indexing/status'] = {
    get: {
      operationId: 'indexingStatus',
      summary: 'Pending and dead ids, jobs and last runs of every indexer (any valid token)',
      tags: ['indexing'],
      security: BEARER,
      parameters: common,
      responses: {
        200: jsonResponse('one entry per indexer', { type: 'object', required: ['data'], properties: { data: { type: 'array', items: ref('IndexerStatus') } } }),
        ...COMMON_RESPONSES,
      },
    },
  };
  return out;
}
