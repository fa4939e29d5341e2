import { startTestApp, type TestApp } from '../support/app';

/**
 * The triggers' PL/pgSQL functions run their statements with plans PostgreSQL keeps per connection. A generic plan
 * made while a table was nearly empty reads the whole table for each row later on: the product listing's
 * recomputation and the category cycle check then grew quadratically with an import (2,000 translation rows: 97 ms
 * → 940 ms from 2,000 to 20,000 stored products; migration trigger_plans). The settings that prevent it are checked
 * here, because what they prevent shows only as time, which a test does not assert.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function settingsOf(fn: string): Promise<string[]> {
  const { rows } = await t.knex.raw(`SELECT coalesce(proconfig, '{}') AS config FROM pg_proc WHERE proname = ?`, [fn]);
  return rows[0].config;
}

it('the listing recomputation is planned per call and never reads a whole table for a chunk', async () => {
  expect(await settingsOf('bulksync_product_listing_refresh')).toEqual(
    expect.arrayContaining(['plan_cache_mode=force_custom_plan', 'enable_seqscan=off', 'enable_hashjoin=off', 'enable_mergejoin=off']),
  );
});

it('the category cycle check walks up the tree by key', async () => {
  expect(await settingsOf('bulksync_category_parent_cycle')).toContain('enable_seqscan=off');
});
