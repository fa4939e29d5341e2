import type pg from 'pg';
import { benchCredentials, TokenSource } from './auth';
import { runDataSet, type DataSet } from './cases';
import { connect, deadlockCount, openBenchDatabase, resetTables, serverVersion, settle } from './db';
import { LOAD_SCENARIOS, LoadKeys, poolSize, runLoad, runRawLoad } from './load';
import { indexingHeaders, parseOptions, type BenchOptions } from './options';
import { badRecordLines, runBadRecord, type BadRecordReport } from './bad-record';
import { runProfile } from './profile';
import { categoryWrites, matchedProductWrites, nestedWrites, productWrites, rawWrite } from './raw';
import { appendToDoc, environment, fmtInt, renderReport, type LoadReport, type Measurement } from './report';
import { runNdjson, type NdjsonReport } from './ndjson';
import { asMatched, changed, changedNested, hexId, makeNested, makeProducts, MATCH_LABEL, type MatchMode } from './rows';
import { buildServer, chunkPaths, startServer, type ServerProcess } from './server';
import { runReads } from './reads';

/**
 * `npm run bench`: the raw PostgreSQL baseline and the endpoint, side by side in one run, on one fresh database
 * and the same rows; then 8 concurrent clients; then the table (stdout and docs/PERFORMANCE.md).
 */

const log = (line: string): void => {
  process.stderr.write(line + '\n');
};

async function createTax(client: pg.Client): Promise<string> {
  const id = hexId();
  await client.query(`INSERT INTO tax (id, name, tax_rate) VALUES ($1, 'Standard rate', 19)`, [id]);
  return id;
}

function flatSet(taxId: string, records: number, requestSizes: number[], watchRssOf?: number): DataSet {
  const inserted = makeProducts(taxId, records);
  const updated = inserted.map((p) => changed(p, 1));
  return {
    group: `flat ${fmtInt(records)}`,
    records,
    raw: { insert: productWrites(inserted), update: productWrites(updated) },
    api: { insert: inserted, update: updated },
    requestSizes,
    watchRssOf,
    match: 'id',
    // The nightly full sync of an ERP: everything sent again as it is stored (the large set only).
    resend: records >= 100_000,
  };
}

/** Products a connector sends without id, found by their externalId or (matchBy) their productNumber. */
function matchedSet(taxId: string, records: number, mode: Exclude<MatchMode, 'id'>): DataSet {
  const inserted = makeProducts(taxId, records);
  const updated = inserted.map((p) => changed(p, 1));
  return {
    group: `flat ${fmtInt(records)} ${MATCH_LABEL[mode]}`,
    records,
    raw: { insert: matchedProductWrites(inserted, mode), update: matchedProductWrites(updated, mode) },
    api: { insert: inserted.map((p) => asMatched(p, mode)), update: updated.map((p) => asMatched(p, mode)) },
    requestSizes: [records],
    match: mode,
    operation: mode === 'matchBy' ? { matchBy: ['productNumber'] } : {},
  };
}

function nestedSet(taxId: string, records: number): DataSet {
  const { existing, products } = makeNested(taxId, records);
  const updated = products.map((p) => changedNested(p, 1));
  return {
    group: `nested ${fmtInt(records)} (+ categories)`,
    records,
    raw: { insert: nestedWrites(products), update: nestedWrites(updated) },
    api: { insert: products, update: updated },
    requestSizes: [records],
    prepare: (client) =>
      rawWrite(client, 'unnest', [
        ...categoryWrites(existing.map((c) => ({ id: c.id, name: c.name ?? '' }))),
      ]),
  };
}

interface RunContext {
  opts: BenchOptions;
  client: pg.Client;
  server: ServerProcess;
  tokens: TokenSource;
  taxId: string;
  indexingSeen: Set<string>;
  databaseUrl: string;
}

async function runAll({ opts, client, server, tokens, taxId, indexingSeen, databaseUrl }: RunContext): Promise<{
  measurements: Measurement[];
  loads: LoadReport[];
  badRecord?: BadRecordReport;
}> {
  const headers = async () => ({ ...indexingHeaders(opts.indexing), ...(await tokens.headers()) });
  const ctx = { client, baseUrl: server.baseUrl, serverPid: server.pid, rounds: opts.rounds, headers, indexingSeen, log };
  const measurements: Measurement[] = [];
  const sets: (() => DataSet)[] = [() => flatSet(taxId, 10_000, [1_000, 10_000])];
  if (!opts.quick) sets.push(() => flatSet(taxId, opts.records, [Math.ceil(opts.records / 10), opts.records], opts.records));
  // Records without id, as ERP and point-of-sale connectors send them: 10,000 always, the large size in the full run,
  // so that time per record can be compared across sizes (growthTable).
  for (const mode of ['externalId', 'matchBy'] as const) {
    sets.push(() => matchedSet(taxId, 10_000, mode));
    if (!opts.quick) sets.push(() => matchedSet(taxId, opts.records, mode));
  }
  sets.push(() => nestedSet(taxId, 1_000));
  for (const make of opts.loadOnly ? [] : sets) {
    const set = make();
    log(`${set.group}: ${opts.rounds} round(s)`);
    measurements.push(...(await runDataSet(ctx, set)));
  }

  let badRecord: BadRecordReport | undefined;
  if (!opts.loadOnly) {
    log('bad record: 2,000 products with one bad reference, against the same 2,000 all good');
    badRecord = await runBadRecord({ client, baseUrl: server.baseUrl, taxId, rounds: opts.rounds, headers });
  }

  const loads: LoadReport[] = [];
  // The load cases run beside raw SQL transactions of the same shape, with the write path alone and again with the
  // indexers inline (the default behaviour), whatever --indexing says for the timed cases: concurrency must hold in
  // both.
  const loadCases = LOAD_SCENARIOS.flatMap((scenario) => (['raw SQL', 'disabled', 'inline'] as const).map((indexing) => ({ indexing, scenario })));
  for (const { indexing, scenario } of loadCases) {
    log(`load (${scenario}, ${indexing === 'raw SQL' ? 'raw SQL' : `indexing ${indexing}`}): 8 clients × 100-record ${indexing === 'raw SQL' ? 'transactions' : 'syncs'} for ${opts.loadSeconds} s`);
    await resetTables(client);
    const keys = new LoadKeys(taxId);
    await rawWrite(client, 'unnest', productWrites(keys.pool(poolSize(scenario))));
    await settle(client);
    const deadlocksBefore = await deadlockCount(client);
    const retriesBefore = new Map(server.retries);
    const pathsBefore = indexing === 'raw SQL' ? undefined : await chunkPaths(server.baseUrl);
    const load =
      indexing === 'raw SQL'
        ? await runRawLoad({ databaseUrl, scenario, keys, clients: 8, seconds: opts.loadSeconds, recordsPerRequest: 100 })
        : await runLoad({
            baseUrl: server.baseUrl,
            scenario,
            keys,
            clients: 8,
            seconds: opts.loadSeconds,
            recordsPerRequest: 100,
            headers: { ...indexingHeaders(indexing), ...(await tokens.headers()) },
          });
    await new Promise((r) => setTimeout(r, 1500)); // statistics reach pg_stat_database with a delay
    const deadlocks = (await deadlockCount(client)) - deadlocksBefore;
    const retries = new Map<string, number>();
    for (const [code, n] of server.retries) {
      const d = n - (retriesBefore.get(code) ?? 0);
      if (d) retries.set(code, d);
    }
    let paths: Map<string, number> | undefined;
    if (pathsBefore) {
      paths = new Map();
      for (const [path, n] of await chunkPaths(server.baseUrl)) paths.set(path, n - (pathsBefore.get(path) ?? 0));
    }
    log(`  ${fmtInt(load.recordsPerSecond)} records/s, p50 ${load.p50.toFixed(1)} ms, p99 ${load.p99.toFixed(1)} ms, ${deadlocks} deadlock(s)`);
    loads.push({ load, indexing, deadlocks, retries, paths });
  }
  return { measurements, loads, badRecord };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--reads')) return runReads(argv);
  const opts = parseOptions(argv);
  const started = Date.now();
  log('bench: opening the database');
  const db = await openBenchDatabase();
  let server: ServerProcess | undefined;
  let client: pg.Client | undefined;
  try {
    log('bench: compiling src/ into .bench/dist');
    const entry = await buildServer(log);
    const credentials = benchCredentials();
    if (opts.profile) {
      await runProfile(entry, db.url, opts.records, indexingHeaders(opts.indexing), credentials, log);
      return;
    }
    log(`bench: database ${db.name} on ${db.origin}; starting the server (it migrates)`);
    server = await startServer({ entry, databaseUrl: db.url, env: credentials });
    const tokens = new TokenSource(server.baseUrl, credentials.BULKSYNC_ADMIN_CLIENT_SECRET!);
    client = await connect(db.url);
    const env = environment(await serverVersion(client), db.origin, argv);
    const taxId = await createTax(client);
    const indexingSeen = new Set<string>();
    const { measurements, loads, badRecord } = await runAll({ opts, client, server, tokens, taxId, indexingSeen, databaseUrl: db.url });
    let ndjson: NdjsonReport | undefined;
    if (opts.ndjson) {
      const sizes = [Math.ceil(opts.ndjson / 10), opts.ndjson];
      log(`ndjson: one streamed request each of ${sizes.map(fmtInt).join(' and ')} products, Prefer: return=minimal, fresh server per request`);
      ndjson = await runNdjson(
        {
          client,
          entry,
          databaseUrl: db.url,
          env: credentials,
          baseUrl: server.baseUrl,
          tokens,
          secret: credentials.BULKSYNC_ADMIN_CLIENT_SECRET!,
          taxId,
          headers: indexingHeaders(opts.indexing),
          log,
        },
        sizes,
      );
    }
    const sent = Object.entries(indexingHeaders(opts.indexing)).map(([k, v]) => `${k}: ${v}`)[0] ?? 'no indexing-behavior header';
    const notes = [
      ...(badRecord ? [badRecordLines(badRecord).replace(/^- /, '')] : []),
      `indexing: --indexing ${opts.indexing} (${sent}); the server answered x-indexing: ${[...indexingSeen].join(', ')}`,
      tokens.mode === 'bearer'
        ? 'authentication: requests carry a Bearer token of an admin integration (POST /api/oauth/token once, renewed before it expires); the server runs with RATE_LIMIT_PER_MINUTE=1000000000 so that its request limit stays out of the measurement'
        : 'authentication: the server has no /api/oauth/token (not built yet): requests carry no token and nothing checks one',
      `each number is the median of ${opts.rounds} round(s); every method starts from empty tables, each pass after a CHECKPOINT`,
      'update pass: the same records sent again in full, 5 of their 10 fields changed',
      'by externalId / by matchBy productNumber: the records carry no id; the server finds them by that unique field (created on the insert pass, found and merged on the update pass); the raw methods upsert ON CONFLICT on the same column and never change the id',
      ...(ndjson?.measurements.length
        ? ['NDJSON: the body is generated while it is sent (the bench client never holds the records); raw COPY streams the same rows (each product and its translation row) from the same generator']
        : []),
      'raw methods: one transaction, no validation, no lookups; unnest in statements of 10,000 rows; COPY of all rows into a temporary table, then one INSERT … SELECT … ON CONFLICT',
      'endpoint: the server compiled as by `npm run build` and run as `node main.js` (NODE_ENV=production, LOG_LEVEL=warn) in a child process, requests sent one after another over loopback with keep-alive; the clock runs from the first request sent to the last answer read',
      'the bench client (and autocannon) share the 2 cores with the server and PostgreSQL',
      ...(opts.quick
        ? []
        : ['RSS: growth is peak minus the RSS right before the request; a request that follows another large one shows less growth because V8 keeps the heap it grew, so "peak ÷ body" is the upper bound']),
      `total bench time ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ];
    const text = renderReport({ title: `${opts.quick ? 'Quick run' : 'Full run'} — ${env.date}`, env, measurements, load: loads, ndjson, notes });
    process.stdout.write('\n' + text);
    if (opts.writeDoc) {
      appendToDoc(text);
      log('bench: appended to docs/PERFORMANCE.md');
    }
  } catch (e) {
    if (server?.stderrTail.length) log(`bench: the server's last log lines:\n${server.stderrTail.slice(-15).join('\n')}`);
    throw e;
  } finally {
    await client?.end().catch(() => undefined);
    await server?.stop();
    await db.dispose();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
