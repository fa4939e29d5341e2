import type { Totals } from './command';

/** `1 record`, `2 records`: counts as a reader says them. */
export function counted(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * The import's last line. A dry run committed nothing: its records were checked, and it says so instead of
 * "written".
 */
export function summaryLine(totals: Totals, run: { dryRun: boolean; seconds: number }): string {
  return [
    `${run.dryRun ? 'dry run: checked, nothing written' : 'written'} ${totals.written}`,
    `skipped ${totals.skipped}`,
    `failed ${totals.failed}`,
    ...(totals.notWritten ? [`rolled back with a failed record ${totals.notWritten}`] : []),
    ...(totals.resumedBatches ? [`batches done before the resume ${totals.resumedBatches}`] : []),
    `${run.seconds.toFixed(1)} s`,
    `${Math.round(totals.written / Math.max(run.seconds, 0.001))} records/s`,
  ].join(', ');
}
