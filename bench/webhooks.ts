import type pg from 'pg';
import { benchCredentials, TokenSource } from './auth';
import { connect, openBenchDatabase, resetTables, settle } from './db';
import { hexId, makeProducts, syncBody } from './rows';
import { buildServer, startServer } from './server';

/**
 * `npm run bench:webhooks`: the cost of events on the flat case (products in one request, indexing disabled), without
 * a webhook and with one `product.written` subscriber, alternating so that both see the same machine. The server
 * runs with WORKER=off: deliveries are queued (what the sync pays) but not sent. Prints medians and the deliveries
 * queued per request.
 */
const log = (line: string): void => void process.stderr.write(line + '\n');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const records = Number(process.argv[2] ?? 10_000);
  const rounds = Number(process.argv[3] ?? 5);
  const db = await openBenchDatabase();
  const credentials = benchCredentials();
  const server = await startServer({ entry: await buildServer(log), databaseUrl: db.url, env: { ...credentials, WORKER: 'off' } });
  let client: pg.Client | undefined;
  try {
    client = await connect(db.url);
    const tokens = new TokenSource(server.baseUrl, credentials.BULKSYNC_ADMIN_CLIENT_SECRET!);
    const taxId = hexId();
    await client.query(`INSERT INTO tax (id, name, tax_rate) VALUES ($1, 'Standard rate', 19)`, [taxId]);
    await client.query(
      `INSERT INTO webhook (id, name, event_name, url, secret, active) VALUES ($1, 'bench', 'product.written', 'https://hooks.example.com/in', 'v1:unused', false)`,
      [hexId()],
    );
    const times: Record<'without' | 'with', number[]> = { without: [], with: [] };
    let deliveries = 0;
    for (let round = 0; round < rounds; round++) {
      for (const mode of round % 2 ? (['with', 'without'] as const) : (['without', 'with'] as const)) {
        await resetTables(client);
        await client.query('TRUNCATE webhook_delivery');
        await client.query(`UPDATE webhook SET active = $1`, [mode === 'with']);
        await settle(client);
        const body = syncBody('product', makeProducts(taxId, records));
        const started = process.hrtime.bigint();
        const res = await fetch(`${server.baseUrl}/api/_action/sync`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', 'indexing-behavior': 'disable-indexing', ...(await tokens.headers()) },
        });
        await res.arrayBuffer();
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (res.status !== 200) throw new Error(`sync answered ${res.status}`);
        times[mode].push(ms);
        if (mode === 'with') deliveries = Number((await client.query('SELECT count(*) AS n FROM webhook_delivery')).rows[0].n);
        log(`round ${round + 1} ${mode}: ${ms.toFixed(0)} ms`);
      }
    }
    const a = median(times.without);
    const b = median(times.with);
    process.stdout.write(
      `flat ${records} in one request, median of ${rounds}: without webhook ${a.toFixed(0)} ms (${Math.round((records / a) * 1000)} records/s), ` +
        `with one product.written webhook ${b.toFixed(0)} ms (${Math.round((records / b) * 1000)} records/s), ` +
        `${(((b - a) / a) * 100).toFixed(1)} % slower; ${deliveries} deliveries queued per request\n`,
    );
  } catch (e) {
    if (server.stderrTail.length) log(`the server's last log lines:\n${server.stderrTail.slice(-15).join('\n')}`);
    throw e;
  } finally {
    await client?.end().catch(() => undefined);
    await server.stop();
    await db.dispose();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
