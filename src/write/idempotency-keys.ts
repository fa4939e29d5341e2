import type { Sql } from '../db/sql';
import { toDbId } from '../definitions/ids';

/** A key of one integration. */
export interface KeyScope {
  integrationId: string;
  key: string;
}

/** An answer as it is replayed: status, the headers that matter, the body's bytes. */
export interface StoredAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface StoredKey extends StoredAnswer {
  fingerprint: string;
}

/**
 * The advisory lock of a key: (namespace, key) so that it cannot collide with the named locks of src/write/locks.ts
 * (namespace hashtext('bulksync')).
 */
const LOCK = `hashtext('bulksync:idempotency'), hashtext($1 || ':' || $2)`;

/** The stored answer of a key, unless it expired (an expired row waiting for the pruner is as good as none). */
export async function findKey(sql: Sql, scope: KeyScope): Promise<StoredKey | undefined> {
  const { rows } = await sql.query<{ fingerprint: string; status: number; headers: Record<string, string>; body: Buffer }>(
    `SELECT fingerprint, status, headers, body FROM bulksync_idempotency_key
      WHERE integration_id = $1 AND key = $2 AND expires_at > now()`,
    [toDbId(scope.integrationId), scope.key],
  );
  return rows[0];
}

/**
 * Takes the key's lock for the caller's transaction, without waiting: false when another transaction (the first
 * request with this key, still running) holds it. Released at commit or rollback, and by PostgreSQL when the
 * connection dies, so a crashed request never leaves its key in flight.
 */
export async function tryLockKey(sql: Sql, scope: KeyScope): Promise<boolean> {
  const { rows } = await sql.query<{ ok: boolean }>(`SELECT pg_try_advisory_xact_lock(${LOCK}) AS ok`, [toDbId(scope.integrationId), scope.key]);
  return rows[0]!.ok;
}

/** The same lock, waiting for it. */
export async function lockKey(sql: Sql, scope: KeyScope): Promise<void> {
  await sql.query(`SELECT pg_advisory_xact_lock(${LOCK})`, [toDbId(scope.integrationId), scope.key]);
}

/**
 * Stores the answer of the key's first request. An expired row of the same key is replaced; a live one is kept
 * (returns false): the key's lock makes that impossible in the data transaction, but an error answer is stored
 * after its rollback, when a retry may have stored its own already.
 */
/** A first request's answer to keep under its key, with what identifies the request and how long it is kept. */
export interface AnswerToStore {
  scope: KeyScope;
  fingerprint: string;
  answer: StoredAnswer;
  ttlHours: number;
}

export async function storeKey(sql: Sql, { scope, fingerprint, answer, ttlHours }: AnswerToStore): Promise<boolean> {
  const { rowCount } = await sql.query(
    `INSERT INTO bulksync_idempotency_key (integration_id, key, fingerprint, status, headers, body, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(hours => $7))
     ON CONFLICT (integration_id, key) DO UPDATE
       SET fingerprint = excluded.fingerprint, status = excluded.status, headers = excluded.headers, body = excluded.body,
           created_at = now(), expires_at = excluded.expires_at
     WHERE bulksync_idempotency_key.expires_at <= now()`,
    [toDbId(scope.integrationId), scope.key, fingerprint, answer.status, JSON.stringify(answer.headers), answer.body, ttlHours],
  );
  return rowCount > 0;
}

/** The pruner's part: keys past their expiry. Returns how many went. */
export async function pruneKeys(sql: Sql): Promise<number> {
  const { rowCount } = await sql.query(`DELETE FROM bulksync_idempotency_key WHERE expires_at <= now()`);
  return rowCount;
}
