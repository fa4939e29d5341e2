import { SingleBar } from 'cli-progress';

export interface ProgressState {
  /** Input bytes read so far and in all (0 when unknown, e.g. stdin). */
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

/**
 * A bar with records/s and ETA on a terminal (cli-progress, on stderr), a plain line every `intervalMs` otherwise
 * (logs, CI), nothing with --quiet. The ETA is by bytes read: the number of rows of a file is not known up front.
 */
export function createProgress(mode: 'bar' | 'lines' | 'none', intervalMs = 5000): Progress {
  const started = Date.now();
  const rate = (s: ProgressState) => Math.round(s.written / Math.max(0.001, (Date.now() - started) / 1000));
  if (mode === 'none') return { update: () => undefined, note: () => undefined, stop: () => undefined };
  if (mode === 'lines') {
    let last = 0;
    let latest: ProgressState | undefined;
    const line = (s: ProgressState) => {
      const pct = s.bytesTotal ? ` (${Math.floor((100 * s.bytesRead) / s.bytesTotal)}% of the file read)` : '';
      process.stderr.write(`${s.written} records written, ${s.failed} failed${pct}, ${rate(s)} records/s\n`);
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
        if (latest && Date.now() - last > 0) line(latest);
      },
    };
  }
  const bar = new SingleBar(
    { format: '{bar} {percentage}% | {written} written, {failed} failed | {rate} records/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 50 },
  );
  let begun = false;
  return {
    update: (s) => {
      const payload = { written: s.written, failed: s.failed, rate: rate(s) };
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
