import request from 'supertest';
import type { Express } from 'express';
import type { Knex } from 'knex';

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
