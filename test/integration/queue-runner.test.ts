import { QUEUE_APPLICATION_NAME } from '../../src/queue/runner';
import { startTestApp, type TestApp } from '../support/app';
import { until } from '../support/poll';

/**
 * The queue worker's connections: stop() returns once every one is closed and the worker is forgotten. A pool left
 * ending behind it had one of its connections cut by the test's DROP DATABASE … WITH (FORCE), an 'error' nobody
 * listened to any more, which failed the whole test file.
 *
 * pool.end() resolves once each socket is closed; the server's backend leaves pg_stat_activity a moment later (it
 * exits after reading the Terminate message), so the count is awaited, not read once: read once it failed CI with 2.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ WORKER_HEARTBEAT_SECONDS: '1' });
});
afterAll(() => t.close());

const connections = async () =>
  (await t.knex.raw(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = ?`, [QUEUE_APPLICATION_NAME])).rows[0].n as number;

it('stop() closes every connection of the worker and forgets it', async () => {
  const worker = await t.startWorker();
  expect(await connections()).toBeGreaterThan(0);
  expect(Number((await t.knex('bulksync_worker').count<{ n: string }[]>('* as n'))[0]!.n)).toBeGreaterThan(0);
  await worker.stop();
  expect(await until(connections, (n) => n === 0)).toBe(0);
  expect(Number((await t.knex('bulksync_worker').count<{ n: string }[]>('* as n'))[0]!.n)).toBe(0);
});
