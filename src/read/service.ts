import type { Knex } from 'knex';
import { loadLanguages } from '../definitions/sql/languages';
import type { Registry } from '../definitions/registry';
import { languageContext } from '../definitions/translations';
import { ApiError } from '../errors';
import type { Logger } from '../observability/logger';
import { assertCanRead, OPEN_ACCESS, selectionEntities, type ReadAccess } from './access';
import { parseChangesRequest } from './changes-request';
import { pruneChanges, readChanges, untrackedEntities, type ChangesResult } from './changes';
import { getRecord, readableEntity } from './get';
import { search, type SearchResult } from './search';
import { parseSearchRequest } from './search-request';
import { inLanguage } from './selection';
import type { ApiRecord } from './types';

export interface ReadOptions {
  /** Change log entries older than this many days are pruned. */
  retentionDays: number;
  /** At most one prune per this many milliseconds per process (pruning runs on feed reads). */
  pruneEveryMs?: number;
}

const DEFAULT_PRUNE_EVERY_MS = 10 * 60 * 1000;

/** The read side: one record, search, and the change feed. Validation problems are thrown as ApiError. */
export class ReadService {
  private lastPrune = 0;
  private trackingChecked = false;

  constructor(
    private readonly knex: Knex,
    private readonly registry: Registry,
    private readonly options: ReadOptions,
    private readonly logger?: Logger,
  ) {}

  async get(entity: string, id: string, associations?: string, access: ReadAccess = OPEN_ACCESS, languageHeader?: string): Promise<ApiRecord> {
    const language = await this.language(languageHeader);
    return getRecord(this.knex, this.registry, access, entity, id, associations, language);
  }

  /** sw-language-id → the language of translated fields (undefined: the default one); unknown is 412 LANGUAGE_NOT_FOUND. */
  private async language(header: string | undefined): Promise<string | undefined> {
    if (header === undefined || header.trim() === '') return undefined;
    const resolved = languageContext(header, await loadLanguages(this.knex, this.registry));
    if (!resolved.ok) throw new ApiError(resolved.problem);
    return resolved.value.languageId;
  }

  /** The entity and every entity an association loads must be readable; validation comes after the entity's own check. */
  async search(entityName: string, body: unknown, access: ReadAccess = OPEN_ACCESS, languageHeader?: string): Promise<SearchResult> {
    const entity = readableEntity(this.registry, entityName);
    assertCanRead(access, [entity.translates ?? entity.name]);
    const parsed = parseSearchRequest(this.registry, entity, body);
    if (!parsed.ok) throw new ApiError(parsed.problems);
    assertCanRead(access, selectionEntities(parsed.query.selection));
    const language = await this.language(languageHeader);
    return search(this.knex, this.registry, { ...parsed.query, selection: inLanguage(parsed.query.selection, language) });
  }

  /** Named entities must all be readable; without `entity`, the feed holds the entities the caller may read. */
  async changes(query: Record<string, unknown>, access: ReadAccess = OPEN_ACCESS): Promise<ChangesResult> {
    const parsed = parseChangesRequest(this.registry, query);
    if (!parsed.ok) throw new ApiError(parsed.problems);
    let request = parsed.request;
    // Translations are read with the privilege of the entity they translate.
    const privilegeOf = (name: string) => this.registry.find(name)?.translates ?? name;
    if (request.entities.length) assertCanRead(access, [...new Set(request.entities.map(privilegeOf))]);
    else {
      const all = this.registry.names();
      const readable = all.filter((n) => access(privilegeOf(n)));
      if (!readable.length) assertCanRead(access, ['*']);
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
