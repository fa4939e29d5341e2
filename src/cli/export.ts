import fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { Criteria, JsonRecord, OpenApiDocument } from '../client';
import { clientFrom, CONNECTION_HELP, CONNECTION_OPTIONS, EXIT, parse, positiveInt, str, UsageError } from './args';
import { FieldShapes } from './import/field-shapes';
import { createProgress } from './import/progress';
import { VERSION_FIELD } from '../definitions/record-version';

export const EXPORT_USAGE = `usage: bulksync export <entity> [--criteria <file.json>] [--since <cursor>] [--out <file>] > out.ndjson

Writes an entity's records as NDJSON (one record a line), ready for bulksync import: only the fields the sync
endpoint takes are written (no createdAt, no indexer-computed fields). A translated entity's records carry every
language's translations ("translations": [{"languageId": …, "name": …}, …]), so an import restores them all.

options:
  --criteria <file.json>   filters etc. of POST /api/search/<entity> (filter, term, sort, associations, …)
  --since <cursor>         only the records changed since this change-feed cursor (the "next" of an earlier export
                           or of GET /api/_action/changes); the new cursor is printed on stderr as "next cursor: …"
  --deletions <file>       with --since: the keys of records deleted since the cursor, one per line
  --versions               write each record's _version: an import of the file (edited or not) into the same service
                           then writes a record only if nobody wrote it since the export (VERSION_CONFLICT otherwise).
                           Left out, the file imports anywhere, into another service too
  --out <file>             write there instead of standard output
  --quiet                  no progress and no summary on stderr
  --progress-interval <ms> without a terminal: a progress line this often (default 5000)
${CONNECTION_HELP}`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  criteria: { type: 'string' },
  since: { type: 'string' },
  deletions: { type: 'string' },
  out: { type: 'string' },
  quiet: { type: 'boolean' },
  versions: { type: 'boolean' },
  'progress-interval': { type: 'string' },
} as const;

/** The fields of one entry of an entity's `translations` list (languageId and the translated fields), if it has any. */
function translationFields(doc: OpenApiDocument, entity: string): Set<string> | undefined {
  const prop = (doc.components.schemas[`${entity}.write`]?.properties as Record<string, JsonRecord> | undefined)?.translations;
  const list = (prop?.oneOf as JsonRecord[] | undefined)?.find((a) => a.type === 'array');
  const item = list?.items as JsonRecord | undefined;
  return item?.properties ? new Set(Object.keys(item.properties as JsonRecord)) : undefined;
}

/** The criteria with the `translations` association loaded, in whichever form the caller gave associations. */
function withTranslations(criteria: Criteria): Criteria {
  const a = criteria.associations;
  if (a === undefined) return { ...criteria, associations: { translations: {} } };
  if (Array.isArray(a)) return { ...criteria, associations: a.includes('translations') ? a : [...a, 'translations'] };
  if (a !== null && typeof a === 'object') return { ...criteria, associations: { translations: {}, ...a } };
  return criteria;
}

/** Writes a line, waiting when the stream's buffer is full (a slow pipe must not make the export hold everything). */
/** Nested records (loaded associations) without their _version, for a file that imports anywhere. */
function withoutVersions(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutVersions);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).filter(([k]) => k !== VERSION_FIELD).map(([k, x]) => [k, withoutVersions(x)]));
  return v;
}

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
  const doc = await client.openApi();
  const shapes = new FieldShapes(doc);
  if (!shapes.has(entity)) throw new UsageError(`unknown entity "${entity}"; the service has: ${shapes.entities().join(', ')}`);
  // What the sync endpoint takes of a record read back: writable fields, and associations that were loaded.
  const writable = new Set(shapes.of(entity).fields.keys());
  if (!values.versions) writable.delete(VERSION_FIELD);
  // Every language, not only the default one: the translation rows, in the list form the sync endpoint takes.
  const translated = translationFields(doc, entity);
  if (translated) criteria = withTranslations(criteria);
  const entry = (row: JsonRecord): JsonRecord => Object.fromEntries(Object.entries(row).filter(([k, v]) => translated!.has(k) && v !== null));
  const importable = (r: JsonRecord): JsonRecord =>
    Object.fromEntries(
      Object.entries(r)
        .filter(([k]) => writable.has(k))
        .map(([k, v]) => (k === 'translations' && translated && Array.isArray(v) ? [k, (v as JsonRecord[]).map(entry)] : [k, values.versions ? v : withoutVersions(v)])),
    );
  const progress = createProgress({
    mode: values.quiet ? 'none' : process.stderr.isTTY ? 'bar' : 'lines',
    intervalMs: positiveInt(values['progress-interval'], 'progress-interval', 5000),
    verb: 'exported',
    of: 'records',
    failures: false,
  });
  let total = 0;
  const report = () => progress.update({ bytesRead: count, bytesTotal: total, written: count, failed: 0 });

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
      report();
      cursor = page.next;
      if (page.data.length === 0) break;
    }
    next = cursor;
    if (deletions) await new Promise<void>((r) => deletions.end(() => r()));
  } else {
    // The total, for the progress: one count before the pages (keyset pages carry none).
    total = (await client.search(entity, { ...criteria, limit: 1, associations: undefined, 'total-count-mode': 'exact' })).total ?? 0;
    for await (const r of client.searchAll(entity, criteria)) {
      await writeLine(out, JSON.stringify(importable(r)));
      count++;
      if (count % 500 === 0) report();
    }
  }
  report();
  progress.stop();
  if (outFile) await new Promise<void>((r) => out.end(() => r()));
  if (!values.quiet) process.stderr.write(`exported ${count} ${entity} records${since ? `, ${deleted} deleted since the cursor` : ''}\n`);
  if (next) process.stderr.write(`next cursor: ${next}\n`);
  return EXIT.ok;
}
