import type { FieldDef } from '../definitions/types';

export type Filter =
  | { type: 'equals'; field: FieldDef; value: unknown }
  | { type: 'equalsAny'; field: FieldDef; values: unknown[] }
  | { type: 'contains' | 'prefix' | 'suffix'; field: FieldDef; value: string }
  | { type: 'range'; field: FieldDef; bounds: Partial<Record<RangeOp, unknown>> }
  /** Full-text match of a tsvector field (e.g. product.searchKeywords) against plain words. */
  | { type: 'term'; field: FieldDef; value: string }
  | { type: 'not' | 'multi'; operator: 'and' | 'or'; queries: Filter[] };

export type RangeOp = 'gt' | 'gte' | 'lt' | 'lte';
export const RANGE_OPS: readonly RangeOp[] = ['gt', 'gte', 'lt', 'lte'];

export const FILTER_TYPES = ['equals', 'equalsAny', 'contains', 'prefix', 'suffix', 'range', 'term', 'not', 'multi'] as const;
