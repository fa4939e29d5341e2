import type { Knex } from 'knex';
import type { Registry } from '../definitions/registry';
import { ApiError } from '../errors';
import { executePlans } from './execute';
import { planRequest } from './plan';
import { parseSyncRequest } from './request';
import type { SyncResult } from './result';

export interface SyncLimits {
  maxRecords: number;
  retries: number;
}

export interface SyncOutcome {
  result: SyncResult;
  records: number;
}

/** The sync pipeline: request → plan (pure, every problem collected) → resolve + write in one transaction → result. */
export class SyncService {
  constructor(
    private readonly knex: Knex,
    private readonly registry: Registry,
    private readonly limits: SyncLimits,
    private readonly onRetry?: (attempt: number, error: unknown) => void,
  ) {}

  async sync(body: unknown, headers: Record<string, string | string[] | undefined>): Promise<SyncOutcome> {
    const parsed = parseSyncRequest(body, headers, this.registry, { maxRecords: this.limits.maxRecords });
    if (!parsed.ok) throw new ApiError(parsed.problems);
    const planned = planRequest(this.registry, parsed.request.operations);
    if (!planned.ok) throw new ApiError(planned.problems);
    const result = await executePlans(this.knex, this.registry, planned.plans, {
      retries: this.limits.retries,
      onRetry: this.onRetry,
    });
    return { result, records: parsed.request.operations.reduce((n, op) => n + (op.payload?.length ?? 0), 0) };
  }
}
