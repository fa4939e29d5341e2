import type { EntityDef } from '../../definitions/types';
import type { Problem } from '../../errors';
import { refPointer } from '../plan/plan-context';
import type { RowRef } from '../types';

/** A record (or delete key) sent with `_version`, and the version its stored record has under the write's lock. */
export interface VersionCheck {
  entity: EntityDef;
  ref: RowRef;
  sent: string;
  /** null: no such record is stored. */
  stored: string | null;
  deleting: boolean;
}

/**
 * VERSION_CONFLICT of a record whose `_version` is not the stored record's: it was written or deleted by someone else
 * since the client read it. The stored version goes with the error, for the client to read again.
 */
export function versionConflict({ entity, ref, sent, stored, deleting }: VersionCheck): Problem {
  const gone = deleting ? 'is not stored any more; nothing to delete' : 'is not stored (deleted, or never created); read it again';
  const moved = `is now at version ${stored}: someone else wrote it since; ${deleting ? 'read it again' : 'read it again and re-apply the change'}`;
  return {
    code: 'VERSION_CONFLICT',
    detail: `this ${entity.name} was based on version ${sent} but ${stored === null ? gone : moved}`,
    pointer: refPointer(ref),
    meta: { operation: ref.op, entity: entity.name, index: ref.index, currentVersion: stored },
  };
}
