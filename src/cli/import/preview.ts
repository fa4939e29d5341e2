import fs from 'node:fs';
import type { PreviewChanges, SyncResult } from '../../client';
import type { Batch } from './send';

/** Columns of the summary table: what a preview counts, as an import says it. */
const COLUMNS = [
  ['new', 'created'],
  ['changed', 'updated'],
  ['unchanged', 'unchanged'],
  ['cleared', 'cleared'],
] as const;

/** Fields named in the table's last line. */
const TOP_FIELDS = 10;

/**
 * What a dry-run import would change, added up over its batches (each previewed by the service on its own): counts
 * per entity, how often each field changes, and with --diff every record's change, one NDJSON line each, with the line
 * of the input file it came from.
 */
export class PreviewReport {
  private readonly totals = new Map<string, PreviewChanges>();
  private readonly fieldCounts = new Map<string, number>();
  private omitted = 0;
  private readonly diff: fs.WriteStream | undefined;

  constructor(diffFile: string | undefined) {
    this.diff = diffFile ? fs.createWriteStream(diffFile) : undefined;
  }

  /** A batch's answer: its counts always, its records as far as the service listed them. */
  add(result: SyncResult, batch: Batch): void {
    for (const [entity, c] of Object.entries(result.changes ?? {})) {
      const t = this.totals.get(entity) ?? { created: 0, updated: 0, unchanged: 0, deleted: 0, cleared: { records: 0, fields: [] } };
      t.created += c.created;
      t.updated += c.updated;
      t.unchanged += c.unchanged;
      t.deleted += c.deleted;
      t.cleared!.records += c.cleared?.records ?? 0;
      this.totals.set(entity, t);
    }
    this.omitted += result.recordsOmitted ?? 0;
    for (const r of result.records ?? []) {
      if (r.change === 'update' || r.change === 'clear') for (const f of Object.keys(r.fields)) this.fieldCounts.set(f, (this.fieldCounts.get(f) ?? 0) + 1);
      const index = /^\/[^/]*\/(\d+)/.exec(r.pointer)?.[1];
      const line = index !== undefined ? batch.lines[Number(index)] : undefined;
      this.diff?.write(JSON.stringify({ ...(line !== undefined ? { line } : {}), ...r }) + '\n');
    }
  }

  /** The summary table (and what it could not list), for stderr. */
  table(): string {
    const rows = [['entity', ...COLUMNS.map(([title]) => title)]];
    for (const [entity, t] of [...this.totals].sort(([a], [b]) => a.localeCompare(b))) {
      rows.push([entity, ...COLUMNS.map(([, k]) => String(k === 'cleared' ? (t.cleared?.records ?? 0) : t[k]))]);
    }
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const lines = rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
    const top = [...this.fieldCounts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP_FIELDS);
    lines.push(`fields changed most often: ${top.length ? top.map(([f, n]) => `${f} ${n}`).join(', ') : 'none'}`);
    // The service lists a bounded number of records per answer: field counts and --diff then miss the rest.
    if (this.omitted) lines.push(`${this.omitted} records' changes were not listed by the service (its per-answer limit): send smaller batches (--batch) to see them all`);
    return lines.join('\n');
  }

  async close(): Promise<void> {
    const d = this.diff;
    if (!d) return;
    await new Promise<void>((resolve, reject) => d.end((e?: Error | null) => (e ? reject(e) : resolve())));
  }
}
