import { pointer, type Problem } from '../errors';

/**
 * The GET form of search (`GET /api/search/<entity>?…`): the same criteria as the POST body, one query parameter
 * per key. Structured keys (filter, post-filter, aggregations, includes, sort, associations …) take their JSON
 * text; `sort` also takes Shopware's shorthand `-stock,name` (a leading "-" sorts descending), and the list keys
 * `associations`, `fields`, `grouping` and `ids` a comma-separated list. Scalars are given as they are.
 */
export type QueryCriteriaResult = { ok: true; body: Record<string, unknown> } | { ok: false; problems: Problem[] };

const LISTS = new Set(['associations', 'fields', 'grouping', 'ids']);

export function criteriaFromQuery(query: Record<string, unknown>): QueryCriteriaResult {
  const body: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const [key, raw] of Object.entries(query)) {
    if (typeof raw !== 'string') {
      problems.push({ code: 'CRITERIA_INVALID', detail: `give "${key}" once`, pointer: pointer(key) });
      continue;
    }
    const text = raw.trim();
    if (text.startsWith('[') || text.startsWith('{')) {
      try {
        body[key] = JSON.parse(text);
      } catch {
        problems.push({ code: 'CRITERIA_INVALID', detail: `"${key}" starts like JSON but is not valid JSON`, pointer: pointer(key) });
      }
    } else if (key === 'sort') {
      body.sort = text.split(',').filter(Boolean).map((s) => (s.startsWith('-') ? { field: s.slice(1), order: 'DESC' } : { field: s.replace(/^\+/, ''), order: 'ASC' }));
    } else if (LISTS.has(key)) {
      body[key] = text.split(',').map((s) => s.trim()).filter(Boolean);
    } else {
      body[key] = raw;
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, body };
}
