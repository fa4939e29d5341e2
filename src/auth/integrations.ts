import type { Knex } from 'knex';
import { newDbId } from '../definitions/ids';
import { hashSecret, newSecret, verifySecret } from './secrets';

export interface Integration {
  id: string;
  clientId: string;
  name: string;
  privileges: string[];
  createdAt: string;
  revokedAt: string | null;
}

interface Row {
  id: string;
  client_id: string;
  name: string;
  secret_hash: string;
  privileges: string[];
  created_at: Date;
  revoked_at: Date | null;
}

function toIntegration(r: Row): Integration {
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
    const [row] = await this.knex<Row>('bulksync_integration')
      .insert({ id: newDbId(), client_id: clientId, name: input.name, secret_hash: await hashSecret(secret), privileges: input.privileges })
      .returning('*');
    return { integration: toIntegration(row as Row), secret };
  }

  /** Startup: the admin of BULKSYNC_ADMIN_CLIENT_ID/SECRET exists with `*:*` and that secret (rotated if changed). */
  async ensureAdmin(clientId: string, secret: string): Promise<void> {
    const row = await this.knex<Row>('bulksync_integration').where({ client_id: clientId }).first();
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
    const same = await verifySecret(secret, row.secret_hash);
    await this.knex('bulksync_integration')
      .where({ client_id: clientId })
      .update({ privileges: ['*:*'], revoked_at: null, ...(same ? {} : { secret_hash: await hashSecret(secret) }) });
  }

  /** The integration of these credentials, or undefined (unknown, revoked, or wrong secret). */
  async authenticate(clientId: string, secret: string): Promise<Integration | undefined> {
    const row = await this.knex<Row>('bulksync_integration').where({ client_id: clientId }).whereNull('revoked_at').first();
    if (!row || !(await verifySecret(secret, row.secret_hash))) return undefined;
    return toIntegration(row);
  }

  async byId(id: string): Promise<Integration | undefined> {
    const row = await this.knex<Row>('bulksync_integration').where({ id }).first();
    return row ? toIntegration(row) : undefined;
  }

  async list(): Promise<Integration[]> {
    return (await this.knex<Row>('bulksync_integration').orderBy('created_at')).map(toIntegration);
  }

  async revoke(clientId: string): Promise<boolean> {
    return (await this.knex('bulksync_integration').where({ client_id: clientId }).whereNull('revoked_at').update({ revoked_at: this.knex.fn.now() })) > 0;
  }
}
