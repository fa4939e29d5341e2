/** Command-line options of `npm run bench`. */
export interface BenchOptions {
  /** Size of the large flat case (requests of a tenth of it, and one request of all of it). */
  records: number;
  /** Skip the large flat case and shorten the load test. */
  quick: boolean;
  /** Seconds of the 8-client load test. */
  loadSeconds: number;
  /** Rounds of the timed cases; each case reports the median of its rounds. */
  rounds: number;
  /** Run the server under `node --cpu-prof` for one request of `records` products and summarise the profile. */
  profile: boolean;
  /** Append the results to docs/PERFORMANCE.md. */
  writeDoc: boolean;
  /** What the endpoint is asked to do about indexing (header indexing-behavior). */
  indexing: IndexingMode;
  /** Size of the large streamed NDJSON case (a request of a tenth of it too); 0: not run (the default of --quick). */
  ndjson: number;
  /** Only the 8-client load cases (no timed data sets, no bad-record case, no NDJSON). */
  loadOnly: boolean;
}

export type IndexingMode = 'disabled' | 'inline' | 'queue';

/** Request headers for an indexing mode; servers without indexing ignore the header. */
export function indexingHeaders(mode: IndexingMode): Record<string, string> {
  if (mode === 'disabled') return { 'indexing-behavior': 'disable-indexing' };
  if (mode === 'queue') return { 'indexing-behavior': 'use-queue-indexing' };
  return {};
}

export const USAGE = `usage: npm run bench -- [--records N] [--quick] [--rounds N] [--load-seconds N] [--profile] [--no-doc]
  --records N       size of the large flat case (default 100000; requests of N/10 and one of N)
  --quick           skip the large flat case, 10 s load tests (2-3 minutes)
  --rounds N        rounds of each timed case, the median is reported (default 3, 1 with --quick)
  --load-seconds N  duration of the 8-client load test (default 30, 10 with --quick)
  --profile         only: one request of N products against a server under node --cpu-prof; prints the top costs
  --ndjson N        size of the streamed NDJSON case (default 1000000, and one of N/10; with --quick only when given;
                    0 skips it)
  --indexing MODE   disabled (default: header indexing-behavior: disable-indexing, the write path alone, as the
                    raw methods), inline (no header: indexers run before the answer) or queue (use-queue-indexing)
  --load-only       only the 8-client load cases (with raw SQL beside them), e.g. to look for deadlocks
  --no-doc          print the table, do not append it to docs/PERFORMANCE.md`;

function positiveInt(name: string, value: string | undefined): number {
  const n = Number(value);
  if (!value || !Number.isInteger(n) || n < 1) throw new Error(`${name} expects a positive integer, got ${value ?? 'nothing'}\n${USAGE}`);
  return n;
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  let records = 100_000;
  let quick = false;
  let rounds: number | undefined;
  let loadSeconds: number | undefined;
  let profile = false;
  let writeDoc = true;
  let indexing: IndexingMode = 'disabled';
  let ndjson: number | undefined;
  let loadOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--records':
        records = positiveInt(flag, value());
        break;
      case '--quick':
        quick = true;
        break;
      case '--rounds':
        rounds = positiveInt(flag, value());
        break;
      case '--load-seconds':
        loadSeconds = positiveInt(flag, value());
        break;
      case '--profile':
        profile = true;
        break;
      case '--indexing': {
        const v = value();
        if (v !== 'disabled' && v !== 'inline' && v !== 'queue') throw new Error(`--indexing expects disabled, inline or queue, got ${v ?? 'nothing'}\n${USAGE}`);
        indexing = v;
        break;
      }
      case '--ndjson': {
        const v = value();
        ndjson = v === '0' ? 0 : positiveInt(flag, v);
        if (ndjson && ndjson < 10) throw new Error(`--ndjson must be 0 or at least 10\n${USAGE}`);
        break;
      }
      case '--no-doc':
        writeDoc = false;
        break;
      case '--load-only':
        loadOnly = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${arg}\n${USAGE}`);
    }
  }
  if (records < 10) throw new Error(`--records must be at least 10\n${USAGE}`);
  return {
    records,
    quick,
    rounds: rounds ?? (quick ? 1 : 3),
    loadSeconds: loadSeconds ?? (quick ? 10 : 30),
    profile,
    writeDoc,
    indexing,
    ndjson: loadOnly ? 0 : (ndjson ?? (quick ? 0 : 1_000_000)),
    loadOnly,
  };
}
