import type { Knex } from 'knex';
import type { Registry } from '../registry';
import type { Languages } from '../translations';
import { loadLanguages } from './languages';
import { loadLookups, type Lookups } from './reference-tables';

/** The rows every sync reads before it plans, as of one version. */
export interface NearStaticRows {
  version: number;
  languages: Languages;
  /** Records json values reference (currencies of prices). */
  lookups: Lookups;
  /** Event names active webhooks subscribe to (`product.written`, `*.deleted`, `*`). */
  eventNames: readonly string[];
}

/**
 * Languages, currencies and the event names of active webhooks, cached per process: a request reads one number, the
 * version that every write of those rows bumps in its own transaction (a trigger, see the cache_version
 * migration), and reloads the rows only when it moved. Several API processes stay correct: none keeps rows older
 * than the version it read.
 */
export class NearStatic {
  private cached: NearStaticRows | undefined;
  private loading: Promise<NearStaticRows> | undefined;

  constructor(
    private readonly knex: Knex,
    private readonly registry: Registry,
  ) {}

  async current(): Promise<NearStaticRows> {
    const { rows } = await this.knex.raw<{ rows: { version: number | string }[] }>('SELECT version FROM bulksync_cache_version');
    const version = Number(rows[0]?.version ?? 0);
    if (this.cached && this.cached.version >= version) return this.cached;
    // Requests that see a new version at the same moment share one reload.
    this.loading ??= this.load(version).finally(() => {
      this.loading = undefined;
    });
    const loaded = await this.loading;
    return loaded.version >= version ? loaded : this.load(version);
  }

  /** Rows read after `version` was: at least as new as it (a change in between bumps the version past it). */
  private async load(version: number): Promise<NearStaticRows> {
    const [languages, lookups, events] = await Promise.all([
      loadLanguages(this.knex, this.registry),
      loadLookups(this.knex, this.registry),
      this.knex.raw<{ rows: { event_name: string }[] }>('SELECT DISTINCT event_name FROM webhook WHERE active'),
    ]);
    const rows: NearStaticRows = { version, languages, lookups, eventNames: events.rows.map((r) => r.event_name) };
    if (!this.cached || this.cached.version <= version) this.cached = rows;
    return rows;
  }
}
