import request from 'supertest';
import type { Express } from 'express';
import type { Knex } from 'knex';
import { readSource } from '../../src/definitions/sql/translated';
import type { Registry } from '../../src/definitions/registry';

export function sync(app: Express, body: unknown, headers: Record<string, string> = {}) {
  return request(app).post('/api/_action/sync').set('content-type', 'application/json').set(headers).send(body as object);
}

export async function count(knex: Knex, table: string): Promise<number> {
  const [row] = await knex(table).count<{ count: number }[]>('* as count');
  return Number(row!.count);
}

/** Creates a tax and returns its id. */
export async function createTax(app: Express, name = 'Standard', taxRate = 19): Promise<string> {
  const res = await sync(app, { t: { entity: 'tax', action: 'upsert', payload: [{ name, taxRate }] } });
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body.data.tax[0];
}

/**
 * The rows of an entity's table with its translated fields as columns (their default-language values), for tests
 * that look at what was stored.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows of any entity
export function storedRows(t: { knex: Knex; registry: Registry }, entity: string): Knex.QueryBuilder<any, any[]> {
  return t.knex.from(t.knex.raw(`${readSource(t.registry.get(entity))} AS stored`));
}

/** Product rows as storedRows gives them, with the search vector from its own table as `search_keywords` (null until indexed). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- stored rows
export function productRows(t: { knex: Knex; registry: Registry }): Knex.QueryBuilder<any, any[]> {
  const products = readSource(t.registry.get('product'));
  return t.knex.from(t.knex.raw(`(SELECT p.*, s.search_keywords FROM ${products} p LEFT JOIN product_search s ON s.product_id = p.id) AS stored`));
}
