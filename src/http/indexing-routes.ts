import { Router } from 'express';
import { isObject } from '../definitions/json';
import type { Knex } from 'knex';
import { withTransaction } from '../db/sql';
import { ApiError, pointer, showValue, type Problem } from '../errors';
import type { Indexer } from '../indexing/types';
import { enqueueFullIndex } from '../indexing/sql/queue-jobs';
import type { IndexerSet } from '../indexing/registry';
import { retryDead } from '../indexing/sql/retry';
import { indexingStatus } from '../indexing/sql/status';
import { requirePrivilege } from './auth';
import { jsonBody } from './json-body';

/** `{ "indexers": [...], "entities": [...] }` (both optional) → the indexers it names; unknown names are problems. */
function chooseIndexers(raw: unknown, indexers: IndexerSet): Indexer[] {
  const body: unknown = raw ?? {};
  const problems: Problem[] = [];
  if (!isObject(body)) throw new ApiError({ code: 'OPERATION_INVALID', detail: 'expected { "indexers": [...], "entities": [...] } or {}', pointer: '' });
  const list = (name: 'indexers' | 'entities', known: (v: string) => boolean): string[] | undefined => {
    const v = body[name];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      problems.push({ code: 'VALUE_INVALID', detail: `${name} must be a list of names`, pointer: pointer(name) });
      return [];
    }
    v.forEach((x, i) => {
      if (typeof x !== 'string' || !known(x)) problems.push({ code: 'VALUE_INVALID', detail: `unknown ${name.slice(0, -1)} ${showValue(x)}`, pointer: pointer(name, i) });
    });
    return v.filter((x): x is string => typeof x === 'string');
  };
  const names = list('indexers', (x) => Boolean(indexers.get(x)));
  const entities = list('entities', (x) => indexers.all.some((ix) => ix.entity.name === x || ix.listens.includes(x)));
  if (problems.length) throw new ApiError(problems);
  return indexers.all.filter(
    (ix) => (!names || names.includes(ix.name)) && (!entities || entities.some((e) => ix.entity.name === e || ix.listens.includes(e))),
  );
}

/** Full re-index (queued, in batches), re-running dead work, and the status of every indexer. */
export function indexingRoutes(knex: Knex, indexers: IndexerSet, maxAttempts: number): Router {
  const r = Router();

  r.post('/api/_action/index', jsonBody(1024 * 1024), async (req, res) => {
    requirePrivilege(req, 'indexing', 'run');
    const chosen = chooseIndexers(req.body, indexers);
    await withTransaction(knex, async (sql) => {
      for (const ix of chosen) await enqueueFullIndex(sql, ix.name, null, maxAttempts);
    }, { retries: 2 });
    res.status(202).json({ data: { queued: chosen.map((ix) => ix.name) } });
  });

  r.post('/api/_action/indexing/retry', jsonBody(1024 * 1024), async (req, res) => {
    requirePrivilege(req, 'indexing', 'run');
    const chosen = chooseIndexers(req.body, indexers).map((ix) => ix.name);
    const retried = await withTransaction(knex, (sql) => retryDead(sql, chosen, maxAttempts), { retries: 2 });
    res.status(202).json({ data: { indexers: chosen, ...retried } });
  });

  r.get('/api/_action/indexing/status', async (_req, res) => {
    res.json({ data: await indexingStatus(knex, indexers) });
  });
  return r;
}
