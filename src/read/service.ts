import type { Knex } from 'knex';
import type { Registry } from '../definitions/registry';
import { ApiError } from '../errors';
import type { Logger } from '../logger';
import { parseChangesRequest } from './changes-request';
import { pruneChanges, readChanges, type ChangesResult } from './changes';
import { getRecord, readableEntity } from './get';
import { search, type SearchResult } from './search';
import { parseSearchRequest } from './search-request';
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

  constructor(
    private readonly knex: Knex,
    private readonly registry: Registry,
    private readonly options: ReadOptions,
    private readonly logger?: Logger,
  ) {}

  get(entity: string, id: string, associations?: string): Promise<ApiRecord> {
    return getRecord(this.knex, this.registry, entity, id, associations);
  }

  search(entityName: string, body: unknown): Promise<SearchResult> {
    const entity = readableEntity(this.registry, entityName);
    const parsed = parseSearchRequest(this.registry, entity, body);
    if (!parsed.ok) throw new ApiError(parsed.problems);
    return search(this.knex, this.registry, parsed.query);
  }

  async changes(query: Record<string, unknown>): Promise<ChangesResult> {
    const parsed = parseChangesRequest(this.registry, query);
    if (!parsed.ok) throw new ApiError(parsed.problems);
    await this.pruneIfDue();
    return readChanges(this.knex, this.registry, parsed.request);
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
