import type { Sql } from '../../db/sql';
import { kindOf } from '../../definitions/kinds';
import type { Registry } from '../../definitions/registry';
import type { EntityDef, FieldDef } from '../../definitions/types';
import { pointer } from '../../errors';
import { keyString, type Key } from '../../write/keys';
import { imagesInside, storedImages, type Images, type StoredImage } from '../../write/preview-images';
import { PendingRef } from '../plan/pending';
import { refPointer } from '../plan/plan-context';
import { resolveReferences } from './resolve-references';
import { apiKey, type ApiKey, type SyncResult } from '../result';
import type { OperationState } from './state';
import type { EntityChanges, FieldChange, PreviewSink, PreviewRecord } from '../preview-types';
import type { MissingCommand, OperationPlan, UpsertCommand, UpsertRow } from '../types';

/**
 * The preview of a dry run (`Prefer: return=representation`): per chunk, the stored rows its commands reach are read
 * before the chunk is written and again after it, inside the transaction that is rolled back anyway, one statement
 * each; the two images are diffed per field. Whether a record is unchanged is the write's own verdict
 * (SyncResult.unchanged), so the preview and the write can never disagree on it.
 */

/** What was read before a chunk ran, for the diff after it. */
export interface ChunkImages {
  /** The operation's own entity. */
  own: EntityDef;
  upserts: { cmd: UpsertCommand; before: Images }[];
  /** Entity → key (API spelling, as idOf gives it) → pointer of the record a delete names. */
  deletes: Map<string, Map<string, string>>;
  /** Where records deleted by criteria, by a clear, or by a cascade point. */
  endPointer: string;
  clear?: { cmd: MissingCommand; before: Images };
}

export interface PreviewSettings {
  sink: PreviewSink;
  /** The request's language (database spelling): translated fields are shown in it. */
  languageId: string;
  /**
   * Whether the integration may read the entity: the stored values (`from`) are shown only then, else the record's
   * change is listed without its fields (a write-only integration must not read through a preview).
   */
  mayRead: (entity: string) => boolean;
}

const idOf = (k: ApiKey) => (typeof k === 'string' ? k : JSON.stringify(k));

/** Translation rows and links are part of their record (its translated fields, its associations), not records. */
function shown(entity: EntityDef, own: EntityDef): boolean {
  return entity === own || !(entity.translates || entity.isMapping);
}

/** Fields a preview shows: what a client writes and reads back (no keys, no derived, hidden or encrypted fields). */
const fieldsCache = new WeakMap<EntityDef, readonly FieldDef[]>();
function previewFields(entity: EntityDef): readonly FieldDef[] {
  let fields = fieldsCache.get(entity);
  if (!fields) fieldsCache.set(entity, (fields = entity.fieldList.filter((f) => f.readable && !f.encrypted && !f.writeProtected && !entity.primaryKey.includes(f.name))));
  return fields;
}

/** Values in API spelling: scalars compared as they are, lists and objects (json, prices) by their JSON text. */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

function apiValue(f: FieldDef, image: StoredImage | undefined): unknown {
  const v = image?.[f.column];
  return v === null || v === undefined ? null : kindOf(f).fromDb(v);
}

/** The fields whose value differs between the two images (a created record: every field it holds). */
function diff(entity: EntityDef, before: StoredImage | undefined, after: StoredImage | undefined): Record<string, FieldChange> {
  const out: Record<string, FieldChange> = {};
  for (const f of previewFields(entity)) {
    const from = apiValue(f, before);
    const to = apiValue(f, after);
    if (!same(from, to)) out[f.name] = { from, to };
  }
  return out;
}

/** A row's key once its references are resolved (undefined while one is not). */
function resolvedKey(entity: EntityDef, row: UpsertRow): Key | undefined {
  const key: Record<string, string> = {};
  for (const k of entity.primaryKey) {
    const v = row.values.get(k);
    const id = v instanceof PendingRef ? v.id : v;
    if (typeof id !== 'string') return undefined;
    key[k] = id;
  }
  return key;
}

export class Preview {
  private counts = new Map<string, EntityChanges>();
  private clearedFields = new Map<string, Set<string>>();

  constructor(
    private readonly registry: Registry,
    private readonly settings: PreviewSettings,
  ) {}

  /** Everything counted and written so far is forgotten: a re-run of the transaction previews it all again. */
  async reset(): Promise<void> {
    this.counts = new Map();
    this.clearedFields = new Map();
    await this.settings.sink.reset();
  }

  /** Per entity, alphabetically. */
  changes(): Record<string, EntityChanges> {
    const out: Record<string, EntityChanges> = {};
    for (const name of [...this.counts.keys()].sort()) {
      const c = this.counts.get(name)!;
      const fields = this.clearedFields.get(name);
      out[name] = fields ? { ...c, cleared: { records: c.cleared?.records ?? 0, fields: [...fields].sort() } } : c;
    }
    return out;
  }

  /** Reads what the chunk's commands will touch, before they run. */
  async before(sql: Sql, plan: OperationPlan, op: OperationState): Promise<ChunkImages> {
    const { operation } = plan;
    const images: ChunkImages = { own: operation.entity, upserts: [], deletes: new Map(), endPointer: pointer(operation.key) };
    const language = this.settings.languageId;
    for (const cmd of plan.commands) {
      if (cmd.kind === 'upsert' && shown(cmd.entity, operation.entity)) {
        images.upserts.push({ cmd, before: await storedImages(sql, cmd.entity, await this.keysOf(sql, cmd), language) });
      } else if (cmd.kind === 'delete') {
        const at = new Map<string, string>();
        for (const k of cmd.keys) if (!at.has(idOf(apiKey(cmd.entity, k.key)))) at.set(idOf(apiKey(cmd.entity, k.key)), pointer(cmd.op, k.ref.index));
        images.deletes.set(cmd.entity.name, at);
      } else if (cmd.kind === 'deleteWhere') images.endPointer = pointer(cmd.op, 'criteria');
      else if (cmd.kind === 'missing') {
        images.endPointer = pointer(cmd.op, 'missing');
        if (!cmd.delete) images.clear = { cmd, before: await imagesInside(sql, cmd.entity, { filters: cmd.filters, spared: [...op.named], language }) };
      }
    }
    return images;
  }

  /**
   * The keys a command's rows will have. Rows matched by externalId or matchBy are resolved here on copies, as the
   * write will resolve them; what this resolved is forgotten again, so that the write resolves as it would have.
   */
  private async keysOf(sql: Sql, cmd: UpsertCommand): Promise<Key[]> {
    const open = new Set<PendingRef>();
    for (const r of cmd.rows) for (const v of r.values.values()) if (v instanceof PendingRef && !v.resolved) open.add(v);
    let rows: readonly UpsertRow[] = cmd.rows;
    if (open.size) {
      const copies = cmd.rows.map((r) => ({ ...r, values: new Map(r.values) }));
      rows = await resolveReferences(sql, { ...cmd, rows: copies }, []);
    }
    const keys = rows.map((r) => resolvedKey(cmd.entity, r)).filter((k): k is Key => k !== undefined);
    for (const p of open) p.reset();
    return keys;
  }

  /** Diffs what the chunk did (its result, after settleUnchanged) against what was read before it. */
  async after(sql: Sql, images: ChunkImages, result: SyncResult): Promise<void> {
    const { registry } = this;
    for (const { cmd, before } of images.upserts) await this.upserted(sql, { cmd, before }, result);
    if (images.clear) await this.cleared(sql, images.clear, result);
    for (const [name, keys] of result.deleted) {
      if (!shown(registry.get(name), images.own)) continue;
      const at = images.deletes.get(name);
      for (const key of keys) {
        this.count(name).deleted++;
        await this.settings.sink.write({ pointer: at?.get(idOf(key)) ?? images.endPointer, entity: name, key, change: 'delete', fields: {} });
      }
    }
  }

  private count(entity: string): EntityChanges {
    let c = this.counts.get(entity);
    if (!c) this.counts.set(entity, (c = { created: 0, updated: 0, unchanged: 0, deleted: 0 }));
    return c;
  }

  private async upserted(sql: Sql, { cmd, before }: { cmd: UpsertCommand; before: Images }, result: SyncResult): Promise<void> {
    const { entity } = cmd;
    const listed = new Set((result.data.get(entity.name) ?? []).map(idOf));
    if (!listed.size) return;
    const same = new Set((result.unchanged.get(entity.name) ?? []).map(idOf));
    const rows: { row: UpsertRow; key: Key; api: ApiKey }[] = [];
    const seen = new Set<string>();
    for (const row of cmd.rows) {
      const key = resolvedKey(entity, row);
      if (!key) continue;
      const api = apiKey(entity, key);
      const id = idOf(api);
      // Rows that name a record without changing it are not listed by the write; rows merged into one key count once.
      if (!listed.has(id) || seen.has(id)) continue;
      seen.add(id);
      rows.push({ row, key, api });
    }
    const after = await storedImages(sql, entity, rows.map((r) => r.key), this.settings.languageId);
    for (const { row, key, api } of rows) {
      const ks = keyString(entity, key);
      const was = before.get(ks);
      const change = same.has(idOf(api)) ? 'unchanged' : was ? 'update' : 'create';
      this.count(entity.name)[change === 'create' ? 'created' : change === 'update' ? 'updated' : 'unchanged']++;
      const record: PreviewRecord = { pointer: refPointer(row.ref), entity: entity.name, key: api, change, fields: change === 'unchanged' || !this.settings.mayRead(entity.name) ? {} : diff(entity, was, after.get(ks)) };
      await this.settings.sink.write(record);
    }
  }

  /** The records a clear sets (those already holding its values are left out: the write leaves them alone too). */
  private async cleared(sql: Sql, { cmd, before }: { cmd: MissingCommand; before: Images }, result: SyncResult): Promise<void> {
    const { entity } = cmd;
    const listed = new Set((result.data.get(entity.name) ?? []).map(idOf));
    const same = new Set((result.unchanged.get(entity.name) ?? []).map(idOf));
    const keys: Key[] = [];
    for (const row of before.values()) {
      const key: Record<string, string> = {};
      for (const k of entity.primaryKey) key[k] = String(row[entity.fields[k]!.column]);
      const id = idOf(apiKey(entity, key));
      if (listed.has(id) && !same.has(id)) keys.push(key);
    }
    const after = await storedImages(sql, entity, keys, this.settings.languageId);
    const fields = this.clearedFields.get(entity.name) ?? new Set<string>();
    this.clearedFields.set(entity.name, fields);
    const c = this.count(entity.name);
    c.cleared ??= { records: 0, fields: [] };
    for (const key of keys) {
      const ks = keyString(entity, key);
      const changed = diff(entity, before.get(ks), after.get(ks));
      const shownFields = this.settings.mayRead(entity.name) ? changed : {};
      for (const f of Object.keys(changed)) fields.add(f);
      c.cleared.records++;
      await this.settings.sink.write({ pointer: pointer(cmd.op, 'missing'), entity: entity.name, key: apiKey(entity, key), change: 'clear', fields: shownFields });
    }
  }
}
