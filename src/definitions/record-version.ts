/**
 * A record's version (`_version` in every read, a precondition in every write): the time of its last write, to the
 * millisecond, from `updated_at` (or `created_at` before the first update). Every write sets `updated_at` at least a
 * millisecond past the stored value (see write/record-version.ts), so each write gives a new version however close
 * two writes come, while an unchanged re-send (not written) and the indexers (which never set `updated_at`) leave
 * it as it was. Clients treat it as an opaque string.
 */
export const VERSION_FIELD = '_version';

/** The longest version a client may send back (ours are 8 to 9 characters; anything longer cannot match). */
export const MAX_VERSION_LENGTH = 64;

/** The version of a row read with its created_at and updated_at (as pg returns them: Dates, to the millisecond). */
export function versionOf(createdAt: unknown, updatedAt: unknown): string | null {
  const at = updatedAt instanceof Date ? updatedAt : createdAt instanceof Date ? createdAt : undefined;
  return at ? at.getTime().toString(36) : null;
}

/** The columns every entity table has that the version is read from. */
export const VERSION_COLUMNS = ['created_at', 'updated_at'] as const;
