import fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { Criteria, JsonRecord } from '../client';
import { clientFrom, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parse, str, UsageError } from './args';
import { FieldShapes } from './import/field-shapes';

export const EXPORT_USAGE = `usage: bulksync export <entity> [--criteria <file.json>] [--since <cursor>] [--out <file>] > out.ndjson

Writes an entity's records as NDJSON (one record a line), ready for bulksync import: only the fields the sync
endpoint takes are written (no createdAt, no indexer-computed fields).

options:
  --criteria <file.json>   filters etc. of POST /api/search/<entity> (filter, term, sort, associations, …)
  --since <cursor>         only the records changed since this change-feed cursor (the "next" of an earlier export
                           or of GET /api/_action/changes); the new cursor is printed on stderr as "next cursor: …"
  --deletions <file>       with --since: the keys of records deleted since the cursor, one per line
  --out <file>             write there instead of standard output
  --quiet                  no summary on stderr
${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  criteria: { type: 'string' },
  since: { type: 'string' },
  deletions: { type: 'string' },
  out: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

/** Writes a line, waiting when the stream's buffer is full (a slow pipe must not make the export hold everything). */
async function writeLine(out: Writable, line: string): Promise<void> {
  if (!out.write(line + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
}

export async function exportCommand(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { values, positionals, help } = parse(args, OPTIONS, EXPORT_USAGE);
  if (help) {
    process.stdout.write(EXPORT_USAGE + '\n');
    return EXIT.ok;
  }
  const entity = positionals[0];
  if (!entity || positionals.length > 1) throw new UsageError(`one entity is required\n\n${EXPORT_USAGE}`);
  let criteria: Criteria = {};
  const criteriaFile = str(values.criteria);
  if (criteriaFile) {
    try {
      criteria = JSON.parse(fs.readFileSync(criteriaFile, 'utf8')) as Criteria;
    } catch (e) {
      throw new UsageError(`--criteria ${criteriaFile}: ${(e as Error).message}`);
    }
  }
  if (str(values.deletions) && !str(values.since)) throw new UsageError('--deletions needs --since');
  const client = clientFrom(values, env);
  const shapes = new FieldShapes(await client.openApi());
  if (!shapes.has(entity)) throw new UsageError(`unknown entity "${entity}"; the service has: ${shapes.entities().join(', ')}`);
  // What the sync endpoint takes of a record read back: writable fields, and associations that were loaded.
  const writable = new Set(shapes.of(entity).fields.keys());
  const importable = (r: JsonRecord): JsonRecord => Object.fromEntries(Object.entries(r).filter(([k]) => writable.has(k)));

  const outFile = str(values.out);
  const out: Writable = outFile ? fs.createWriteStream(outFile) : process.stdout;
  let count = 0;
  const since = str(values.since);
  let next: string | undefined;
  let deleted = 0;
  if (since) {
    // The feed names what changed; the records are then read by id, 500 at a time, in their current state.
    const deletions = str(values.deletions) ? fs.createWriteStream(str(values.deletions)!) : undefined;
    let cursor = since;
    for (;;) {
      const page = await client.changes({ since: cursor, entity: [entity], limit: 10_000 });
      const upserted = new Set<string>();
      for (const c of page.data) {
        if (c.op === 'delete') {
          deleted++;
          if (deletions) await writeLine(deletions, JSON.stringify(typeof c.id === 'string' ? { id: c.id } : c.id));
        } else if (typeof c.id === 'string') upserted.add(c.id);
        else {
          // A mapping entity's record is its key (product_category: productId + categoryId).
          await writeLine(out, JSON.stringify(importable(c.id)));
          count++;
        }
      }
      const ids = [...upserted];
      for (let i = 0; i < ids.length; i += 500) {
        const pageIds = ids.slice(i, i + 500);
        for await (const r of client.searchAll(entity, { ...criteria, ids: pageIds })) {
          await writeLine(out, JSON.stringify(importable(r)));
          count++;
        }
      }
      cursor = page.next;
      if (page.data.length === 0) break;
    }
    next = cursor;
    if (deletions) await new Promise<void>((r) => deletions.end(() => r()));
  } else {
    for await (const r of client.searchAll(entity, criteria)) {
      await writeLine(out, JSON.stringify(importable(r)));
      count++;
    }
  }
  if (outFile) await new Promise<void>((r) => out.end(() => r()));
  if (!values.quiet) process.stderr.write(`exported ${count} ${entity} records${since ? `, ${deleted} deleted since the cursor` : ''}\n`);
  if (next) process.stderr.write(`next cursor: ${next}\n`);
  return EXIT.ok;
}
