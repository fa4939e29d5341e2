import { SingleBar } from 'cli-progress';
import { counted } from './summary';

export interface ProgressState {
  /** How far: input bytes read (import) or records read (export), and of how many (0 when unknown, e.g. stdin). */
  bytesRead: number;
  bytesTotal: number;
  written: number;
  failed: number;
}

export interface Progress {
  update(state: ProgressState): void;
  note(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  /** A bar on a terminal, plain lines otherwise (logs, CI), or nothing (--quiet). */
  mode: 'bar' | 'lines' | 'none';
  /** Plain lines: at most one this often. */
  intervalMs?: number;
  /** What happened to the records: `written`, `checked` (a dry run commits nothing), `exported`. */
  verb?: string;
  /** What `bytesRead` of `bytesTotal` counts: the file's bytes (import) or the records (export). */
  of?: 'file' | 'records';
  /** Whether failed records are counted (an export has none). */
  failures?: boolean;
}

/** Time left at the average pace so far, by bytes read (the number of rows of a file is not known up front). */
function eta(s: ProgressState, origin: { at: number; bytes: number }): string {
  const elapsed = (Date.now() - origin.at) / 1000;
  const done = s.bytesRead - origin.bytes;
  if (!s.bytesTotal || done <= 0 || elapsed < 1) return '…';
  const left = Math.max(0, Math.round(((s.bytesTotal - s.bytesRead) * elapsed) / done));
  return left >= 3600 ? `${Math.floor(left / 3600)}h${String(Math.floor((left % 3600) / 60)).padStart(2, '0')}m` : left >= 60 ? `${Math.floor(left / 60)}m${String(left % 60).padStart(2, '0')}s` : `${left}s`;
}

/**
 * A bar with records/s and ETA on a terminal (cli-progress, on stderr), a plain line every `intervalMs` otherwise
 * (logs, CI), nothing with --quiet. The ETA is by bytes read: the number of rows of a file is not known up front.
 */
export function createProgress(opts: ProgressOptions): Progress {
  const { mode, intervalMs = 5000, verb = 'written', of = 'file', failures = true } = opts;
  const started = Date.now();
  const rate = (s: ProgressState) => Math.round(s.written / Math.max(0.001, (Date.now() - started) / 1000));
  const failed = (s: ProgressState) => (failures ? `, ${s.failed} failed` : '');
  if (mode === 'none') return { update: () => undefined, note: () => undefined, stop: () => undefined };
  if (mode === 'lines') {
    let last = 0;
    let latest: ProgressState | undefined;
    let printed = '';
    const line = (s: ProgressState) => {
      const pct = !s.bytesTotal ? '' : of === 'file' ? ` (${Math.floor((100 * s.bytesRead) / s.bytesTotal)}% of the file read)` : ` (${Math.floor((100 * s.bytesRead) / s.bytesTotal)}% of ${s.bytesTotal})`;
      const counts = `${counted(s.written, 'record')} ${verb}${failed(s)}${pct}`;
      // The same counts twice in a row (the last batch's report, then the end) are one line.
      if (counts === printed) return;
      printed = counts;
      process.stderr.write(`${counts}, ${rate(s)} records/s\n`);
    };
    return {
      update: (s) => {
        latest = s;
        if (Date.now() - last >= intervalMs) {
          last = Date.now();
          line(s);
        }
      },
      note: (l) => process.stderr.write(`${l}\n`),
      stop: () => {
        if (latest) line(latest);
      },
    };
  }
  const bar = new SingleBar({ format: `{bar} {percentage}% | {written} ${verb}${failures ? ', {failed} failed' : ''} | {rate} records/s | ETA {etaText}`, stream: process.stderr, hideCursor: true });
  let begun = false;
  // The pace is measured from the first update (after the command's start-up requests).
  let origin: { at: number; bytes: number } | undefined;
  return {
    update: (s) => {
      origin ??= { at: Date.now(), bytes: s.bytesRead };
      const payload = { written: s.written, failed: s.failed, rate: rate(s), etaText: eta(s, origin) };
      if (!begun) {
        bar.start(Math.max(1, s.bytesTotal), 0, payload);
        begun = true;
      }
      bar.update(s.bytesTotal ? s.bytesRead : 0, payload);
    },
    note: (l) => {
      // Above the bar, without tearing it.
      if (begun) process.stderr.write(`\r\x1b[K${l}\n`);
      else process.stderr.write(`${l}\n`);
    },
    stop: () => {
      if (begun) bar.stop();
    },
  };
}
