/** OpenAPI schemas of a dry run's preview (`dry-run: true` with `Prefer: return=representation`; docs/safe-resyncs.md). */
import { ref, type Schema } from './common';
import { SYNC_COUNTS, SYNC_RESULT } from './operations';

/** The per-record list of a JSON preview stops here (src/sync/preview-types.ts holds the same number). */
const LIST_LIMIT = 1000;

const FIELD_CHANGE: Schema = {
  type: 'object',
  required: ['from', 'to'],
  additionalProperties: false,
  properties: { from: { description: 'the stored value (null when absent)' }, to: { description: 'the value the request would store' } },
};

export const PREVIEW_RECORD: Schema = {
  type: 'object',
  required: ['pointer', 'entity', 'key', 'change', 'fields'],
  additionalProperties: false,
  properties: {
    pointer: { type: 'string', description: 'where the request names the record: /<operation>/<index>[/…] (nested records), /<operation>/missing (a clear), /<operation>/criteria, or /<operation> (a cascade)' },
    entity: { type: 'string' },
    key: { oneOf: [{ type: 'string' }, { type: 'object', additionalProperties: { type: 'string' } }], description: 'the id, or the key object of a composite key' },
    change: { type: 'string', enum: ['create', 'update', 'unchanged', 'delete', 'clear'] },
    fields: {
      type: 'object',
      additionalProperties: FIELD_CHANGE,
      description: "API field name → its value before and after, API spelling; translated fields in the request's language. Empty for unchanged and deleted records, and for an entity the integration may not read (<entity>:read); keys, derived, hidden and encrypted fields are left out",
    },
  },
};

export const PREVIEW_CHANGES: Schema = {
  type: 'object',
  description: 'entity → what the request would do to its records (translations and links count as part of their record)',
  additionalProperties: {
    type: 'object',
    required: ['created', 'updated', 'unchanged', 'deleted'],
    additionalProperties: false,
    properties: {
      created: { type: 'integer', minimum: 0 },
      updated: { type: 'integer', minimum: 0 },
      unchanged: { type: 'integer', minimum: 0 },
      deleted: { type: 'integer', minimum: 0, description: 'cascades included' },
      cleared: {
        type: 'object',
        required: ['records', 'fields'],
        additionalProperties: false,
        description: 'present when a snapshot clear (missing with set) ran: the records it would change and the fields it would blank',
        properties: { records: { type: 'integer', minimum: 0 }, fields: { type: 'array', items: { type: 'string' } } },
      },
    },
  },
};

/** The JSON answer of a preview: the usual answer (ids, or counts with return=minimal) and the preview beside it. */
export const SYNC_PREVIEW: Schema = {
  type: 'object',
  required: ['extensions', 'changes'],
  additionalProperties: false,
  properties: {
    ...(SYNC_RESULT.properties as Record<string, Schema>),
    counts: (SYNC_COUNTS.properties as Record<string, Schema>).counts,
    changes: ref('PreviewChanges'),
    records: { type: 'array', maxItems: LIST_LIMIT, items: ref('PreviewRecord'), description: `what would change per record, the first ${LIST_LIMIT}; with Accept: application/x-ndjson every record, one per line after this answer` },
    recordsOmitted: { type: 'integer', minimum: 0, description: 'records left off the list (the summary in changes counts them)' },
  },
};

/** The sync's 200 answer, with the NDJSON form of a preview beside its JSON. */
export function previewable(response: Schema): Schema {
  const content = response.content as Record<string, Schema>;
  return {
    ...response,
    content: {
      ...content,
      'application/x-ndjson': {
        schema: { type: 'string', description: 'a preview asked with Accept: application/x-ndjson: the first line is the answer with changes (SyncPreview without records), then one PreviewRecord per line, every record' },
      },
    },
  };
}
