import fs from 'node:fs';
import PQueue from 'p-queue';
import { ApiProblem, AuthenticationError, ConnectionError, syncCapabilities, type SyncOptions } from '../../client';
import { bool, choice, clientFrom, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parse, positiveInt, str, UsageError } from '../args';
import { Checkpoint, fileIdentity, idempotencyKey, runIdOf } from './checkpoint';
import { rowConverter, type RowConverter } from './convert';
import { ErrorFile } from './error-file';
import { FieldShapes } from './field-shapes';
import { createProgress } from './progress';
import { sendWithSplit, type Batch, type SendContext } from './send';
import { summaryLine } from './summary';
import { PreviewReport } from './preview';
import { csvRows, formatOf, jsonArrayRecords, ndjsonRecords, openInput, type LineProblem, type SourceItem } from './sources';

export const IMPORT_USAGE = `usage: bulksync import <file|-> --entity <name> [options]

Imports a CSV, NDJSON or JSON-array file through POST /api/_action/sync, in batches (docs/import.md).

options:
  --entity <name>          the entity to write (required)
  --format csv|ndjson|json default: from the file's extension (.csv, .ndjson/.jsonl, .json), else csv
  --map <file.json>        CSV column → field: {"Tax": "tax.name", "Notes": null}; nested fields with dots,
                           lists (categories, categories.name) split on |
  --delimiter <char>       CSV delimiter (default , or a tab for .tsv files)
  --empty omit|null        an empty CSV cell leaves the field out (default) or sets it to null
  --mode merge|replace|create-only   the operation's write mode (default merge)
  --match-by <f1,f2>       match existing records by these unique fields when a row has no id
  --batch <n>              records per request (default 1000)
  --concurrency <n>        requests in flight (default 2); reading pauses while they are all busy
  --indexing inline|queue|disabled   indexing-behavior; disabled: one full re-index at the end
  --fail-on-error true|false         true (default): a batch is all or nothing and the import stops at the
                           first failure; false: failing records are rolled back alone, the rest goes on
  --dry-run                send dry-run: true: everything is checked, nothing is committed; prints what
                           would change (new / changed / unchanged / cleared, the fields changed most often)
  --diff <file.ndjson>     with --dry-run: every record's change, one line each (line, pointer, key, change,
                           fields with from and to)
  --errors <file.csv>      every failed record: line,column,field,code,message
  --resume                 continue an interrupted import from its checkpoint
  --checkpoint <file>      where the checkpoint is kept (default <file>.bulksync-checkpoint.json)
  --retries <n>            attempts per request on 429/503/network errors (default 8)
  --quiet                  no progress output
  --progress-interval <ms> without a terminal: a progress line this often (default 5000)
${CONNECTION_HELP}

exit codes: 0 all written, 1 records failed, 2 usage or connection error, 130 interrupted`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  entity: { type: 'string' },
  format: { type: 'string' },
  map: { type: 'string' },
  delimiter: { type: 'string' },
  empty: { type: 'string' },
  mode: { type: 'string' },
  'match-by': { type: 'string' },
  batch: { type: 'string' },
  concurrency: { type: 'string' },
  indexing: { type: 'string' },
  'fail-on-error': { type: 'string' },
  'dry-run': { type: 'boolean' },
  diff: { type: 'string' },
  errors: { type: 'string' },
  resume: { type: 'boolean' },
  checkpoint: { type: 'string' },
  retries: { type: 'string' },
  quiet: { type: 'boolean' },
  'progress-interval': { type: 'string' },
} as const;

export interface Totals {
  written: number;
  skipped: number;
  failed: number;
  /** Records of a batch that was rolled back for another record's error. */
  notWritten: number;
  resumedBatches: number;
}

/** Something that ends the import early: its exit code and message. */
class Stop extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

export async function importCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals, help } = parse(args, OPTIONS, IMPORT_USAGE);
  if (help) {
    process.stdout.write(IMPORT_USAGE + '\n');
    return EXIT.ok;
  }
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError(`one input file (or - for stdin) is required\n\n${IMPORT_USAGE}`);
  const entity = str(values.entity);
  if (!entity) throw new UsageError(`--entity is required\n\n${IMPORT_USAGE}`);
  if (file !== '-' && !fs.existsSync(file)) throw new UsageError(`no such file: ${file}`);
  const format = formatOf(file, str(values.format));
  if (values.format !== undefined && format !== values.format) throw new UsageError(`--format: expected csv, ndjson or json, got "${String(values.format)}"`);
  const map = readMap(str(values.map));
  const batchSize = positiveInt(values.batch, 'batch', 1000, 100_000);
  const concurrency = positiveInt(values.concurrency, 'concurrency', 2, 64);
  const retries = positiveInt(values.retries, 'retries', 8, 100);
  const mode = choice(values.mode, 'mode', ['merge', 'replace', 'create-only'] as const, 'merge');
  const indexing = choice(values.indexing, 'indexing', ['inline', 'queue', 'disabled'] as const, 'inline');
  const empty = choice(values.empty, 'empty', ['omit', 'null'] as const, 'omit');
  const failOnError = bool(values['fail-on-error'], 'fail-on-error', true);
  const dryRun = Boolean(values['dry-run']);
  const diffFile = str(values.diff);
  if (diffFile && !dryRun) throw new UsageError('--diff needs --dry-run: it lists what a dry run would change');
  const matchBy = str(values['match-by'])?.split(',').map((s) => s.trim()).filter(Boolean);
  const delimiter = str(values.delimiter) ?? (/\.tsv$/i.test(file) ? '\t' : ',');
  const quiet = Boolean(values.quiet);
  const interval = positiveInt(values['progress-interval'], 'progress-interval', 5000);

  const progress = createProgress({ mode: quiet ? 'none' : process.stderr.isTTY ? 'bar' : 'lines', intervalMs: interval, verb: dryRun ? 'checked' : 'written' });
  const client = clientFrom(values, env, {
    retry: { attempts: retries },
    onRetry: (r) => progress.note(`retrying ${r.path} in ${(r.waitMs / 1000).toFixed(1)} s (${r.reason}, attempt ${r.attempt})`),
  });

  // Field kinds from the service: also checks the credentials and the connection before reading the file.
  const doc = await client.openApi();
  const shapes = new FieldShapes(doc);
  const capabilities = syncCapabilities(doc);
  // NDJSON bodies where the service documents them; otherwise JSON from the first batch on (no refused probe).
  client.assumeNdjson(capabilities.contentTypes.has('application/x-ndjson'));
  if (dryRun && !capabilities.headers.has('dry-run')) {
    // A service without it would ignore the header and commit every batch.
    throw new UsageError(`the service at ${client.url} does not document the dry-run header (it would write): nothing was sent`);
  }
  if (!shapes.has(entity)) throw new UsageError(`unknown entity "${entity}"; the service has: ${shapes.entities().join(', ')}`);
  if (matchBy) for (const f of matchBy) if (!shapes.of(entity).fields.has(f)) throw new UsageError(`--match-by: ${entity} has no field "${f}"`);

  const settings = { entity, format, map, batchSize, mode, matchBy, empty, failOnError, dryRun, delimiter };
  const fileId = fileIdentity(file);
  const runId = runIdOf(fileId, settings);
  const checkpointPath = str(values.checkpoint) ?? Checkpoint.defaultPath(file);
  let checkpoint: Checkpoint | undefined;
  if (!dryRun) {
    if (values.resume) {
      if (file === '-') throw new UsageError('--resume needs a file: standard input cannot be read again');
      try {
        checkpoint = Checkpoint.load(checkpointPath, runId);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (!checkpoint) progress.note(`no checkpoint at ${checkpointPath}: starting from the beginning`);
      else progress.note(`resuming: ${checkpoint.doneCount} batches already imported`);
    } else if (fs.existsSync(checkpointPath)) {
      progress.note(`replacing the checkpoint of an earlier run (${checkpointPath}); --resume would have continued it`);
    }
    checkpoint ??= Checkpoint.fresh(file, runId, checkpointPath);
    checkpoint.save();
  }

  const errorFile = str(values.errors) ? new ErrorFile(str(values.errors)!) : undefined;
  const totals: Totals = { written: checkpoint?.counts.written ?? 0, skipped: checkpoint?.counts.skipped ?? 0, failed: 0, notWritten: 0, resumedBatches: checkpoint?.doneCount ?? 0 };
  const started = Date.now();
  // return=minimal: counts instead of id lists, which the import does not read (ignored by a service without it).
  const syncOptions: SyncOptions = { failOnError, indexing, dryRun, minimal: true, ...(dryRun ? { preview: true } : {}) };
  const preview = dryRun ? new PreviewReport(diffFile) : undefined;
  const operation = { key: 'import', entity, action: 'upsert' as const, ...(mode !== 'merge' ? { mode } : {}), ...(matchBy?.length ? { matchBy } : {}) };

  const input = openInput(file);
  const bytesTotal = file === '-' ? 0 : fs.statSync(file).size;
  // How far the reader got, from the items it hands on (not the read-ahead of the stream).
  let bytesRead = 0;
  const report = () => progress.update({ bytesRead, bytesTotal, written: totals.written, failed: totals.failed });

  let stop: Stop | undefined;
  const halt = (s: Stop) => {
    stop ??= s;
  };
  let interrupted = 0;
  const onSigint = () => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    progress.note('interrupted: finishing the requests in flight (Ctrl-C again to quit at once)');
    halt(new Stop(130, 'interrupted'));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  /** A failed line: in the error file, and the end of the import unless --fail-on-error false. */
  const problem = (p: LineProblem) => {
    errorFile?.write(p);
    if (failOnError) halt(new Stop(EXIT.failedRecords, `line ${p.line}: ${p.message}`));
  };

  let converter: RowConverter | undefined;
  const queue = new PQueue({ concurrency });

  const sendBatch = async (batch: Batch): Promise<void> => {
    const send: SendContext = {
      client,
      operation,
      opts: syncOptions,
      converter,
      note: (line) => progress.note(line),
      preview: preview && ((result, b) => preview.add(result, b)),
      failed: (failures, rolledBack) => {
        for (const f of failures) problem(f);
        totals.failed += new Set(failures.map((f) => f.line)).size;
        totals.notWritten += rolledBack;
      },
    };
    const counts = await sendWithSplit(send, batch, idempotencyKey(runId, batch.number));
    totals.written += counts.written;
    totals.skipped += counts.skipped;
    // A batch rolled back as a whole is not done: a resume (after the cause is fixed) sends it again.
    if (!counts.rolledBack) checkpoint?.markDone(batch.number, counts);
    report();
  };

  let sentBatches = 0;
  const enqueue = async (batch: Batch) => {
    if (checkpoint?.isDone(batch.number)) return;
    sentBatches++;
    // Reading waits while every slot is busy and one batch is already waiting: memory stays at a few batches.
    await queue.onSizeLessThan(1);
    void queue.add(() =>
      sendBatch(batch).catch((e: unknown) => {
        halt(fatal(e));
      }),
    );
  };

  let batch: Batch = { number: 0, records: [], lines: [] };
  try {
    const items: AsyncIterable<SourceItem> = format === 'csv' ? csvRows(input, delimiter) : format === 'ndjson' ? ndjsonRecords(input) : jsonArrayRecords(input);
    for await (const item of items) {
      if (stop) break;
      if (item.offset !== undefined) bytesRead = item.offset;
      if (item.cells) {
        if (!converter) {
          converter = rowConverter(item.cells, entity, shapes, { map, empty });
          continue;
        }
        const { record, problems } = converter.convert(item.cells);
        if (problems.length) {
          totals.failed++;
          for (const p of problems) problem({ line: item.line, code: 'VALUE_INVALID', message: p.message, column: p.column, field: p.field });
          continue;
        }
        batch.records.push(record);
        batch.lines.push(item.line);
      } else if (item.record) {
        batch.records.push(item.record);
        batch.lines.push(item.line);
      } else {
        totals.failed++;
        problem(item.problem);
        continue;
      }
      if (batch.records.length >= batchSize) {
        await enqueue(batch);
        batch = { number: batch.number + 1, records: [], lines: [] };
        report();
      }
    }
    if (!stop && batch.records.length) await enqueue(batch);
  } catch (e) {
    if (e instanceof UsageError) halt(new Stop(EXIT.usage, e.message));
    else if (e instanceof SyntaxError || (e as { code?: string }).code?.startsWith?.('CSV_')) halt(new Stop(EXIT.failedRecords, `the file cannot be read further: ${(e as Error).message}`));
    else halt(fatal(e));
  } finally {
    input.destroy();
  }
  await queue.onIdle();
  process.off('SIGINT', onSigint);
  process.off('SIGTERM', onSigint);
  // Refused before a batch went out (a column the entity lacks, say): the reason alone, no counts of nothing.
  const refusedUpFront = stop?.exitCode === EXIT.usage && sentBatches === 0 && totals.failed === 0;
  if (!refusedUpFront) report();
  progress.stop();
  errorFile?.close();

  if (!stop && indexing === 'disabled' && !dryRun && totals.written > 0) {
    const { queued } = await client.reindex();
    process.stderr.write(`full re-index queued (${queued.join(', ')})\n`);
  }
  await preview?.close();
  if (preview && !refusedUpFront) process.stderr.write(`${preview.table()}\n`);
  if (!refusedUpFront) process.stderr.write(`${summaryLine(totals, { dryRun, seconds: (Date.now() - started) / 1000 })}\n`);
  if (errorFile && totals.failed) process.stderr.write(`failed records listed in ${errorFile.path}\n`);
  if (stop) {
    // Stopped before anything was done (a column the entity lacks, say): no checkpoint to resume from.
    if (checkpoint && checkpoint.doneCount === 0 && totals.resumedBatches === 0) {
      checkpoint.remove();
      checkpoint = undefined;
    }
    process.stderr.write(`bulksync import: ${stop.message}\n`);
    if (checkpoint) process.stderr.write(`continue with the same command and --resume (checkpoint ${checkpoint.path})\n`);
    return stop.exitCode;
  }
  if (totals.failed) return EXIT.failedRecords;
  checkpoint?.remove();
  return EXIT.ok;
}

function readMap(file: string | undefined): Record<string, string | null> {
  if (!file) return {};
  let map: unknown;
  try {
    map = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--map ${file}: ${(e as Error).message}`);
  }
  if (!map || typeof map !== 'object' || Array.isArray(map) || Object.values(map).some((v) => v !== null && typeof v !== 'string')) {
    throw new UsageError(`--map ${file}: expected an object of column → field name (or null)`);
  }
  return map as Record<string, string | null>;
}

/** An error that ends the whole import: the service cannot be used (exit 2). */
function fatal(e: unknown): Stop {
  if (e instanceof ConnectionError) return new Stop(EXIT.usage, `${e.message} (after the retries)`);
  if (e instanceof AuthenticationError) return new Stop(EXIT.usage, e.message);
  if (e instanceof ApiProblem) return new Stop(EXIT.usage, `the service refused the request: ${e.message}`);
  if (e instanceof Stop) return e;
  return new Stop(EXIT.usage, e instanceof Error ? e.message : String(e));
}
