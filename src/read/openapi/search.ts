/** The search routes of the OpenAPI document: criteria (POST body and GET parameters), the answer, aggregations. */
import { AGGREGATION_TYPES, HISTOGRAM_INTERVALS, MAX_AGGREGATIONS, MAX_BUCKETS } from '../../criteria/aggregations';
import type { EntityDef } from '../../definitions/types';
import { DEFAULT_LIMIT, MAX_LIMIT } from '../search-request';
import { type Schema, ref, ID_INPUT } from './common';

const VALIDATORS = {
  ETag: { description: 'a strong validator over the answer\'s bytes: it changes when anything answered changes (a translation shown included)', schema: { type: 'string' } },
  'Cache-Control': { description: 'private, no-cache: keep the answer, revalidate it with If-None-Match before use', schema: { type: 'string' } },
};

export function criteriaSchema(e: EntityDef): Schema {
  const fieldNames = e.fieldList.filter((f) => f.readable).map((f) => f.name);
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      filter: { type: 'array', items: ref('Filter'), description: 'combined with AND; narrows the list, its total and the aggregations; absent or empty: every record' },
      'post-filter': { type: 'array', items: ref('Filter'), description: 'narrows the list and its total but not the aggregations (facets keep every choice)' },
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
      page: { type: 'integer', minimum: 1, description: 'offset pagination: the database skips (page - 1) × limit records; prefer after for deep pages' },
      after: { type: 'string', description: '"next" of a previous answer (keyset pagination, the same cost at any depth); not with page' },
      associations: { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'object' }], description: `association paths of ${e.name}: ${Object.keys(e.associations).join(', ') || 'none'}` },
      includes: {
        type: 'object',
        additionalProperties: { type: 'array', items: { type: 'string' }, minItems: 1 },
        description: 'entity name → the keys (fields, loaded associations, "translated") its records answer, wherever they appear',
      },
      fields: { type: 'array', items: { type: 'string' }, description: 'the older list form: dotted field paths to answer (a path into an association loads it)' },
      aggregations: { type: 'array', maxItems: MAX_AGGREGATIONS, items: ref('Aggregation') },
      grouping: { type: 'array', items: { type: 'string', enum: fieldNames }, description: 'one record per distinct combination of these fields, the first in the sort order; total counts groups' },
      'total-count-mode': { oneOf: [{ type: 'string', enum: ['none', 'exact'] }, { type: 'integer', enum: [0, 1] }] },
    },
  };
}

export const AGGREGATION: Schema = {
  type: 'object',
  required: ['name', 'type'],
  description:
    'Shopware\'s aggregations over the records "filter" matches. terms, histogram and filter take one nested "aggregation", answered in each bucket ' +
    '(terms, histogram) or instead of the filter aggregation (under the nested one\'s name). Fields: the entity\'s own, or <association>.<field>.',
  properties: {
    name: { type: 'string', description: 'the key of its answer in "aggregations"' },
    type: { type: 'string', enum: [...AGGREGATION_TYPES] },
    field: { type: 'string' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_BUCKETS, description: `terms: buckets answered (default ${MAX_BUCKETS})` },
    sort: { type: 'object', properties: { field: { type: 'string', description: 'the aggregated field (by key) or _count' }, order: { type: 'string', enum: ['ASC', 'DESC', 'asc', 'desc'] } } },
    interval: { type: 'string', enum: [...HISTOGRAM_INTERVALS] },
    definition: { type: 'string', description: 'entity: the entity the field\'s ids name' },
    filter: { type: 'array', items: ref('Filter') },
    aggregation: { $ref: '#/components/schemas/Aggregation' },
  },
};

const BUCKETS: Schema = {
  type: 'object',
  required: ['buckets'],
  properties: {
    buckets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'count'],
        additionalProperties: { description: 'the nested aggregation\'s answer, under its name' },
        properties: { key: { type: ['string', 'null'] }, count: { type: 'integer' } },
      },
    },
  },
};
const NUMBER_OR_NULL = { type: ['number', 'string', 'null'] };

export const AGGREGATION_RESULT: Schema = {
  description: 'by type: terms/histogram { buckets }, min { min }, max { max }, avg { avg }, sum { sum }, count { count }, stats { min, max, avg, sum }, entity { entities }',
  oneOf: [
    BUCKETS,
    { type: 'object', required: ['min', 'max', 'avg', 'sum'], properties: { min: NUMBER_OR_NULL, max: NUMBER_OR_NULL, avg: NUMBER_OR_NULL, sum: NUMBER_OR_NULL } },
    { type: 'object', required: ['count'], properties: { count: { type: 'integer' } }, additionalProperties: false },
    { type: 'object', minProperties: 1, maxProperties: 1, properties: { min: NUMBER_OR_NULL, max: NUMBER_OR_NULL, avg: NUMBER_OR_NULL, sum: NUMBER_OR_NULL }, additionalProperties: false },
    { type: 'object', required: ['entities'], properties: { entities: { type: 'array', items: { type: 'object' } } } },
  ],
};

/** The answer of a search of `e`. */
export function searchAnswer(e: EntityDef): Schema {
  return {
    type: 'object',
    required: ['data'],
    properties: {
      data: { type: 'array', items: ref(e.name), description: 'records; with includes, only the keys named' },
      total: { type: 'integer' },
      next: { type: 'string' },
      aggregations: { type: 'object', additionalProperties: ref('AggregationResult'), description: 'present when the request has aggregations: their answers by name' },
    },
  };
}

export const SEARCH_HEADERS = VALIDATORS;

/** The GET form: each criteria key as a query parameter (JSON text for structured ones). */
export function searchQueryParameters(e: EntityDef): Schema[] {
  const json = (name: string, description: string) => ({ name, in: 'query', required: false, schema: { type: 'string' }, description: `${description} (JSON text)` });
  return [
    json('filter', 'as in the POST body'),
    json('post-filter', 'as in the POST body'),
    json('aggregations', 'as in the POST body'),
    json('includes', 'as in the POST body'),
    { name: 'sort', in: 'query', required: false, schema: { type: 'string' }, description: `"-stock,name": comma-separated fields of ${e.name}, a leading "-" for descending (or the JSON list)` },
    ...['associations', 'fields', 'grouping', 'ids'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' }, description: 'comma-separated (or the JSON list)' })),
    ...['limit', 'page'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'integer', minimum: 1 } })),
    ...['after', 'term', 'total-count-mode'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
    { name: 'If-None-Match', in: 'header', required: false, schema: { type: 'string' }, description: 'the ETag of an earlier answer: 304 without a body while it is unchanged' },
  ];
}
