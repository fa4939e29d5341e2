import type { Knex } from 'knex';
import { withConnection, type Sql } from '../db/sql';
import { newDbId } from '../definitions/ids';
import { findById, findByClientId, insertIntegration, listIntegrations, restoreAdmin, revokeIntegration, type IntegrationRow } from './store';
import { hashSecret, newSecret, verifySecret } from './secrets';

export interface Integration {
  id: string;
  clientId: string;
  name: string;
  privileges: string[];
  createdAt: string;
  revokedAt: string | null;
}

function toIntegration(r: IntegrationRow): Integration {
  return {
    id: r.id.replace(/-/g, ''),
    clientId: r.client_id,
    name: r.name,
    privileges: r.privileges,
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at?.toISOString() ?? null,
  };
}

/** Integrations (OAuth clients) in the database; the secret is shown once at creation and stored hashed. */
export class Integrations {
  constructor(private readonly knex: Knex) {}

  async create(input: { name: string; privileges: string[]; clientId?: string; secret?: string }): Promise<{ integration: Integration; secret: string }> {
    const secret = input.secret ?? newSecret();
    const clientId = input.clientId ?? `bsi_${newSecret().slice(0, 20)}`;
    const row = { id: newDbId(), client_id: clientId, name: input.name, secret_hash: await hashSecret(secret), privileges: input.privileges };
    return { integration: toIntegration(await this.db((sql) => insertIntegration(sql, row))), secret };
  }

  /** Startup: the admin of BULKSYNC_ADMIN_CLIENT_ID/SECRET exists with `*:*` and that secret (rotated if changed). */
  async ensureAdmin(clientId: string, secret: string): Promise<void> {
    const row = await this.db((sql) => findByClientId(sql, clientId, false));
    if (!row) {
      try {
        await this.create({ name: 'admin (from BULKSYNC_ADMIN_CLIENT_ID)', privileges: ['*:*'], clientId, secret });
        return;
      } catch (e) {
        // Another process starting at the same moment created it first: bring that one up to date instead.
        if ((e as { code?: string }).code !== '23505') throw e;
        return this.ensureAdmin(clientId, secret);
      }
    }
    const newHash = (await verifySecret(secret, row.secret_hash)) ? undefined : await hashSecret(secret);
    await this.db((sql) => restoreAdmin(sql, clientId, newHash));
  }

  /** The integration of these credentials, or undefined (unknown, revoked, or wrong secret). */
  async authenticate(clientId: string, secret: string): Promise<Integration | undefined> {
    const row = await this.db((sql) => findByClientId(sql, clientId, true));
    if (!row || !(await verifySecret(secret, row.secret_hash))) return undefined;
    return toIntegration(row);
  }

  async byId(id: string): Promise<Integration | undefined> {
    const row = await this.db((sql) => findById(sql, id));
    return row ? toIntegration(row) : undefined;
  }

  async list(): Promise<Integration[]> {
    return (await this.db(listIntegrations)).map(toIntegration);
  }

  async revoke(clientId: string): Promise<boolean> {
    return this.db((sql) => revokeIntegration(sql, clientId));
  }

  private db<T>(fn: (sql: Sql) => Promise<T>): Promise<T> {
    return withConnection(this.knex, fn);
  }
}
