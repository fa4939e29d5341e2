import type { Knex } from 'knex';
import { loadLanguages } from '../definitions/sql/languages';
import type { Registry } from '../definitions/registry';
import { languageContext } from '../definitions/translations';
import type { Logger } from '../observability/logger';
import { aggregationEntities, missingPrivileges, OPEN_ACCESS, selectionEntities, type ReadAccess } from './access';
import { parseChangesRequest } from './changes-request';
import { pruneChanges, readChanges, untrackedEntities, type ChangesResult } from './changes';
import { getRecord, readableEntity } from './get';
import { search, type SearchResult } from './search';
import { parseSearchRequest } from './search-request';
import { inLanguage } from './selection';
import { refuse, type ApiRecord, type ReadResult } from './types';

export interface ReadOptions {
  /** Change log entries older than this many days are pruned. */
  retentionDays: number;
  /** At most one prune per this many milliseconds per process (pruning runs on feed reads). */
  pruneEveryMs?: number;
}

/** Who asks, and in which language: what every read takes beside its own input. */
export interface ReadCaller {
  access?: ReadAccess;
  /** The sw-language-id header as sent. */
  languageHeader?: string;
}

const DEFAULT_PRUNE_EVERY_MS = 10 * 60 * 1000;

/** The read side: one record, search, and the change feed. Problems are answered as values, never thrown. */
export class ReadService {
  private lastPrune = 0;
  private trackingChecked = false;

  constructor(
    private readonly knex: Knex,
    private readonly registry: Registry,
    private readonly options: ReadOptions,
    private readonly logger?: Logger,
  ) {}

  async get(entity: string, id: string, associations?: string, caller: ReadCaller = {}): Promise<ReadResult<ApiRecord>> {
    const language = await this.language(caller.languageHeader);
    if (!language.ok) return language;
    return getRecord(this.knex, this.registry, { entity, id, associations, access: caller.access ?? OPEN_ACCESS, language: language.value });
  }

  /** sw-language-id → the language of translated fields (undefined: the default one); unknown is 412 LANGUAGE_NOT_FOUND. */
  private async language(header: string | undefined): Promise<ReadResult<string | undefined>> {
    if (header === undefined || header.trim() === '') return { ok: true, value: undefined };
    const resolved = languageContext(header, await loadLanguages(this.knex, this.registry));
    if (!resolved.ok) return refuse(resolved.problem);
    return { ok: true, value: resolved.value.languageId };
  }

  /** The entity and every entity an association loads must be readable; validation comes after the entity's own check. */
  async search(entityName: string, body: unknown, caller: ReadCaller = {}): Promise<ReadResult<SearchResult>> {
    const access = caller.access ?? OPEN_ACCESS;
    const found = readableEntity(this.registry, entityName);
    if (!found.ok) return found;
    const entity = found.value;
    const forbidden = missingPrivileges(access, [entity.translates ?? entity.name]);
    if (forbidden.length) return refuse(forbidden);
    const parsed = parseSearchRequest(this.registry, entity, body);
    if (!parsed.ok) return parsed;
    const hidden = missingPrivileges(access, [...new Set([...selectionEntities(parsed.query.selection), ...aggregationEntities(parsed.query.aggregations)])]);
    if (hidden.length) return refuse(hidden);
    const language = await this.language(caller.languageHeader);
    if (!language.ok) return language;
    return search(this.knex, this.registry, { ...parsed.query, selection: inLanguage(parsed.query.selection, language.value) });
  }

  /** Named entities must all be readable; without `entity`, the feed holds the entities the caller may read. */
  async changes(query: Record<string, unknown>, access: ReadAccess = OPEN_ACCESS): Promise<ReadResult<ChangesResult>> {
    const parsed = parseChangesRequest(this.registry, query);
    if (!parsed.ok) return parsed;
    let request = parsed.request;
    // Translations are read with the privilege of the entity they translate.
    const privilegeOf = (name: string) => this.registry.find(name)?.translates ?? name;
    if (request.entities.length) {
      const forbidden = missingPrivileges(access, [...new Set(request.entities.map(privilegeOf))]);
      if (forbidden.length) return refuse(forbidden);
    } else {
      const all = this.registry.names();
      const readable = all.filter((n) => access(privilegeOf(n)));
      if (!readable.length) return refuse(missingPrivileges(access, ['*']));
      // Everything readable: no filter at all (which also covers tracked tables without a definition).
      if (readable.length < all.length) request = { ...request, entities: readable };
    }
    await this.pruneIfDue();
    await this.warnUntrackedOnce();
    return readChanges(this.knex, this.registry, request);
  }

  /** A feed that silently misses an entity is worse than none: say so in the log, once per process. */
  private async warnUntrackedOnce(): Promise<void> {
    if (this.trackingChecked) return;
    this.trackingChecked = true;
    try {
      const missing = await untrackedEntities(this.knex, this.registry);
      if (missing.length) {
        this.logger?.warn('entities missing from the change feed: their migration must call bulksync_track_changes', { entities: missing });
      }
    } catch (e) {
      this.logger?.warn('change tracking check failed', { error: e instanceof Error ? e.message : String(e) });
    }
  }

  /**
   * Tombstones are kept for the retention, then pruned. Pruning rides on feed reads (throttled per process) so
   * that no extra process is needed; a failure is logged and does not fail the read.
   */
  private async pruneIfDue(): Promise<void> {
    const now = Date.now();
    if (now - this.lastPrune < (this.options.pruneEveryMs ?? DEFAULT_PRUNE_EVERY_MS)) return;
    this.lastPrune = now;
    try {
      const removed = await pruneChanges(this.knex, this.options.retentionDays);
      if (removed) this.logger?.info('change log pruned', { removed, retentionDays: this.options.retentionDays });
    } catch (e) {
      this.logger?.warn('change log pruning failed', { error: e instanceof Error ? e.message : String(e) });
    }
  }
}
