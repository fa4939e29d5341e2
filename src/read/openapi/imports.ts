/** The imports part of the OpenAPI document (docs/sync-jobs.md): Idempotency-Key, dry-run, async sync jobs. */
import { type Schema, ref, header, ID, JSON_API } from './common';
import { COMMON_RESPONSES, errorResponse, jsonResponse } from './operations';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
const TIME = { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] };

/** Components the imports add: the answer headers, the job documents (the request headers come from the sync route's table). */
export function importComponents(): { headers: Record<string, Schema>; schemas: Record<string, Schema> } {
  return {
    headers: {
      XDryRun: { description: 'true on every answer to a dry-run: true request', schema: { const: 'true' } },
      IdempotentReplayed: { description: 'true when the answer is the stored answer of the Idempotency-Key', schema: { const: 'true' } },
      Location: { description: 'the job: /api/_action/sync/jobs/<id>', schema: { type: 'string', pattern: '^/api/_action/sync/jobs/[0-9a-f]{32}$' } },
      PreferenceApplied: { description: 'the preferences applied: respond-async (a 202), return=minimal (counts)', schema: { type: 'string', pattern: '^(respond-async|return=minimal)(, ?(respond-async|return=minimal))?$' } },
    },
    schemas: {
      SyncJobAccepted: {
        type: 'object',
        required: ['id', 'status'],
        additionalProperties: false,
        properties: { id: ID, status: { const: 'queued' } },
      },
      SyncJob: {
        type: 'object',
        required: ['id', 'status', 'createdAt', 'startedAt', 'finishedAt', 'progress'],
        additionalProperties: false,
        properties: {
          id: ID,
          status: { type: 'string', enum: STATUSES },
          createdAt: { type: 'string', format: 'date-time' },
          startedAt: { ...TIME, description: 'the start of its latest run' },
          finishedAt: TIME,
          progress: {
            type: 'object',
            required: ['records', 'processed', 'committed', 'done'],
            additionalProperties: false,
            properties: {
              records: { type: 'integer', minimum: 0, description: 'records read from the body so far' },
              processed: { type: 'integer', minimum: 0, description: "records written in the job's transaction so far, committed or not" },
              committed: { type: 'integer', minimum: 0, description: "records committed: 0 until the job's transaction commits, and for a cancelled, failed or dry-run job" },
              done: { type: 'integer', minimum: 0, description: 'the same as committed (its first name)' },
            },
          },
          result: { oneOf: [ref('SyncResult'), { type: 'null' }], description: 'succeeded: what the synchronous request would have answered (GET of one job only)' },
          errors: { oneOf: [{ type: 'array', items: ref('Error') }, { type: 'null' }], description: 'failed: the errors; succeeded with fail-on-error: false: the records rolled back (GET of one job only)' },
        },
      },
    },
  };
}

/** What the imports add to POST /api/_action/sync. */
export function importSyncAdditions(): { okHeaders: Record<string, Schema>; responses: Record<string, Schema> } {
  return {
    okHeaders: { 'x-dry-run': header('XDryRun'), 'Idempotent-Replayed': header('IdempotentReplayed') },
    responses: {
      202: jsonResponse('Prefer: respond-async: the body is stored and the job queued; GET the Location for its status and result', ref('SyncJobAccepted'), {
        Location: header('Location'),
        'Preference-Applied': header('PreferenceApplied'),
        'Idempotent-Replayed': header('IdempotentReplayed'),
      }),
      409: {
        ...errorResponse(409, 'a unique value already used, or a delete blocked by a restrict rule (nothing was written); or the first request with this Idempotency-Key is still running (Retry-After)'),
        headers: { 'x-request-id': header('XRequestId'), 'Retry-After': header('RetryAfter') },
      },
      422: errorResponse(422, 'the Idempotency-Key was used for another request (method, path, body or meaningful headers differ)'),
    },
  };
}

/** GET (list, one) and DELETE (cancel) of the integration's own jobs. */
export function syncJobPaths(common: readonly Schema[], bearer: unknown): Record<string, Schema> {
  const id = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'the job id (a UUID; anything else is 404)' };
  const notFound = errorResponse(404, 'no such job of this integration (another integration\'s jobs are not found either)', ['NOT_FOUND']);
  const job = jsonResponse('the job', ref('SyncJob'));
  return {
    '/api/_action/sync/jobs': {
      get: {
        operationId: 'syncJobs',
        summary: "The integration's async sync jobs, newest first (without result and errors)",
        tags: ['sync'],
        security: bearer,
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100 }, description: 'jobs per page (25 unless given)' },
          { name: 'page', in: 'query', schema: { type: 'integer', minimum: 1 }, description: '1-based (1 unless given)' },
          ...common,
        ],
        responses: {
          200: jsonResponse('one page', {
            type: 'object',
            required: ['data', 'total', 'page', 'limit'],
            additionalProperties: false,
            properties: { data: { type: 'array', items: ref('SyncJob') }, total: { type: 'integer' }, page: { type: 'integer' }, limit: { type: 'integer' } },
          }),
          400: errorResponse(400, 'limit or page out of range', ['VALUE_INVALID']),
          ...COMMON_RESPONSES,
        },
      },
    },
    '/api/_action/sync/jobs/{id}': {
      get: {
        operationId: 'syncJob',
        summary: 'An async sync job: status, progress, result or errors',
        tags: ['sync'],
        security: bearer,
        parameters: [id, ...common],
        responses: { 200: job, 404: notFound, ...COMMON_RESPONSES },
      },
      delete: {
        operationId: 'cancelSyncJob',
        summary: 'Cancel a job: a queued one never runs, a running one is rolled back',
        tags: ['sync'],
        security: bearer,
        parameters: [id, ...common],
        responses: {
          200: job,
          404: notFound,
          409: { description: 'JOB_FINISHED: the job already ended (succeeded, failed or cancelled)', headers: { 'x-request-id': header('XRequestId') }, content: { [JSON_API]: { schema: ref('Errors') } } },
          ...COMMON_RESPONSES,
        },
      },
    },
  };
}
