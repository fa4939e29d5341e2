import type { Sql } from '../db/sql';

/** auth's door to PostgreSQL: the integrations (OAuth clients) table. */

export interface IntegrationRow {
  id: string;
  client_id: string;
  name: string;
  secret_hash: string;
  privileges: string[];
  created_at: Date;
  revoked_at: Date | null;
}

const COLUMNS = 'id::text AS id, client_id, name, secret_hash, privileges, created_at, revoked_at';

export async function insertIntegration(sql: Sql, row: Pick<IntegrationRow, 'id' | 'client_id' | 'name' | 'secret_hash' | 'privileges'>): Promise<IntegrationRow> {
  const { rows } = await sql.query<IntegrationRow>(
    `INSERT INTO bulksync_integration (id, client_id, name, secret_hash, privileges) VALUES ($1, $2, $3, $4, $5::text[]) RETURNING ${COLUMNS}`,
    [row.id, row.client_id, row.name, row.secret_hash, row.privileges],
  );
  return rows[0]!;
}

/** The integration of a client id; `activeOnly`: not if it was revoked. */
export async function findByClientId(sql: Sql, clientId: string, activeOnly: boolean): Promise<IntegrationRow | undefined> {
  const { rows } = await sql.query<IntegrationRow>(
    `SELECT ${COLUMNS} FROM bulksync_integration WHERE client_id = $1 AND (NOT $2 OR revoked_at IS NULL)`,
    [clientId, activeOnly],
  );
  return rows[0];
}

export async function findById(sql: Sql, id: string): Promise<IntegrationRow | undefined> {
  const { rows } = await sql.query<IntegrationRow>(`SELECT ${COLUMNS} FROM bulksync_integration WHERE id = $1`, [id]);
  return rows[0];
}

export async function listIntegrations(sql: Sql): Promise<IntegrationRow[]> {
  return (await sql.query<IntegrationRow>(`SELECT ${COLUMNS} FROM bulksync_integration ORDER BY created_at`)).rows;
}

/** The admin integration back to `*:*`, unrevoked, with a new secret hash when the secret changed. */
export async function restoreAdmin(sql: Sql, clientId: string, secretHash: string | undefined): Promise<void> {
  await sql.query(
    `UPDATE bulksync_integration SET privileges = ARRAY['*:*'], revoked_at = NULL, secret_hash = coalesce($2, secret_hash) WHERE client_id = $1`,
    [clientId, secretHash ?? null],
  );
}

export async function revokeIntegration(sql: Sql, clientId: string): Promise<boolean> {
  const { rowCount } = await sql.query(`UPDATE bulksync_integration SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL`, [clientId]);
  return (rowCount ?? 0) > 0;
}
