import type { Knex } from 'knex';
import type { Registry } from '../definitions/registry';
import { missing } from '../auth/privileges';
import { parseIndexingHeaders } from '../indexing/behavior';
import type { IndexerSet } from '../indexing/registry';
import { ApiError, MAX_REPORTED_ERRORS, type Problem } from '../errors';
import { loadLanguages } from '../db/languages';
import { loadLookups } from '../db/lookups';
import { LANGUAGE_HEADER, languageContext } from '../definitions/translations';
import { executePlans, withoutRecords } from './execute';
import { planRequest } from './plan';
import { forbidden, requiredPrivileges } from './privileges';
import { parseSyncRequest } from './request';
import type { SyncResult } from './result';

export interface SyncLimits {
  maxRecords: number;
  retries: number;
  indexingMaxAttempts: number;
}

export interface SyncOutcome {
  result: SyncResult;
  /** Records rolled back alone under fail-on-error: false. */
  errors: Problem[];
  records: number;
  /** fail-on-error: false was asked for. */
  partial: boolean;
  /** x-indexing: inline, queued <n>, disabled. */
  indexing: string;
  /** x-indexing-skip-ignored: names in indexing-skip of another system's indexers that bulksync does not have. */
  indexingSkipIgnored: readonly string[];
}

/** The sync pipeline: request → plan (pure, every problem collected) → resolve + write in one transaction → result. */
export class SyncService {
  constructor(
    private readonly knex: Knex,
    private readonly registry: Registry,
    private readonly indexers: IndexerSet,
    private readonly limits: SyncLimits,
    private readonly onRetry?: (attempt: number, error: unknown) => void,
  ) {}

  /**
   * `privileges`: what the calling integration may do; the request is refused (403, nothing written) if it needs
   * more.
   */
  async sync(input: { body: unknown; requestId?: string }, headers: Record<string, string | string[] | undefined>, privileges: readonly string[]): Promise<SyncOutcome> {
    const parsed = parseSyncRequest(input.body, headers, this.registry, { maxRecords: this.limits.maxRecords });
    const indexing = parseIndexingHeaders(headers, this.indexers);
    if (!parsed.ok || !indexing.ok) throw new ApiError([...(parsed.ok ? [] : parsed.problems), ...(indexing.ok ? [] : indexing.problems)]);
    const { failOnError } = parsed.request.options;
    const language = languageContext(headers[LANGUAGE_HEADER], await loadLanguages(this.knex, this.registry));
    if (!language.ok) throw new ApiError(language.problem);
    const planned = planRequest(this.registry, parsed.request.operations, language.value, await loadLookups(this.knex, this.registry));
    const records = parsed.request.operations.reduce((n, op) => n + (op.payload?.length ?? 0), 0);
    // The limit counts what will be written: nested records and mapping links too, not only the payloads' length.
    // Translation rows are part of their record (its translated fields), not records of their own.
    const plannedRows = planned.plans.reduce(
      (n, p) => n + p.commands.reduce((m, c) => m + (c.kind === 'upsert' ? (c.entity.translates ? 0 : c.rows.length) : c.kind === 'delete' ? c.keys.length : 0), 0),
      0,
    );
    if (plannedRows > this.limits.maxRecords) {
      throw new ApiError({
        code: 'PAYLOAD_TOO_MANY_RECORDS',
        detail: `the request holds ${plannedRows} records, nested records and links included; the limit is ${this.limits.maxRecords} per request`,
        pointer: '',
      });
    }
    // The plan holds what it needs; let the parsed body (several times the size of its JSON) go before the writes.
    input.body = undefined;
    for (const op of parsed.request.operations) op.payload = undefined;
    // A problem that names no record (criteria, missing, an operation) fails the request even in partial mode.
    const recordLevel = (p: Problem) => typeof p.meta?.index === 'number' && p.meta.index >= 0;
    if (planned.problems.length && (failOnError || !planned.problems.every(recordLevel))) throw new ApiError(planned.problems);
    const needed = requiredPrivileges(this.registry, planned.plans);
    const lacking = missing(privileges, needed.keys());
    if (lacking.length) throw new ApiError(forbidden(lacking, needed));
    const failed = new Map<string, Set<number>>();
    for (const p of planned.problems) {
      const set = failed.get(p.meta!.operation!) ?? new Set<number>();
      set.add(p.meta!.index as number);
      failed.set(p.meta!.operation!, set);
    }
    const plans = planned.plans.map((plan) => {
      const dropped = failed.get(plan.operation.key);
      return dropped ? { ...withoutRecords(plan, dropped), failedRecords: dropped.size } : plan;
    });
    const outcome = await executePlans(this.knex, this.registry, plans, {
      retries: this.limits.retries,
      failOnError,
      indexers: this.indexers,
      indexing: indexing.value,
      indexingMaxAttempts: this.limits.indexingMaxAttempts,
      onRetry: this.onRetry,
      events: { requestId: input.requestId, skip: parsed.request.options.skipEvents },
    });
    const { result, errors } = outcome;
    return {
      result,
      errors: [...planned.problems, ...errors].slice(0, MAX_REPORTED_ERRORS),
      records,
      partial: !failOnError,
      indexing: outcome.indexing,
      indexingSkipIgnored: indexing.value.ignored ?? [],
    };
  }
}
