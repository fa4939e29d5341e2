import { pointer, showValue, type Problem } from '../errors';
import { isObject } from '../definitions/json';
import type { Registry } from '../definitions/registry';
import type { EntityDef } from '../definitions/types';
import type { MissingClause, Operation, WriteMode } from './types';

const OPERATION_KEYS = new Set(['key', 'entity', 'action', 'payload', 'criteria', 'mode', 'matchBy', 'missing']);
const MODES = ['merge', 'replace', 'create-only'] as const;


/**
 * One operation's header (everything but its records) → a typed operation, or its problems. `raw.payload` is the
 * payload list when it is known whole, or an empty list standing for a payload that streams in.
 */
export function parseOperation(key: string, raw: unknown, registry: Registry): { operation?: Operation; problems: Problem[] } {
  const problems: Problem[] = [];
  const at = pointer(key);
  const meta = { operation: key };
  if (!isObject(raw)) {
    problems.push({ code: 'OPERATION_INVALID', detail: 'an operation must be an object with entity, action and payload', pointer: at, meta });
    return { problems };
  }
  for (const k of Object.keys(raw)) {
    if (!OPERATION_KEYS.has(k)) {
      problems.push({ code: 'OPERATION_INVALID', detail: `unknown operation property "${k}"`, pointer: at + pointer(k), meta });
    }
  }
  const entity = typeof raw.entity === 'string' ? registry.find(raw.entity) : undefined;
  if (entity?.readOnly) {
    problems.push({
      code: 'ENTITY_READ_ONLY',
      detail: `${entity.name} is written by the service only; it can be read (GET /api/${entity.name}, search) but not written or deleted`,
      pointer: at + pointer('entity'),
      meta,
    });
  }
  if (!entity) {
    problems.push({
      code: 'ENTITY_UNKNOWN',
      detail: raw.entity === undefined ? 'the operation names no entity' : `unknown entity ${showValue(raw.entity)}`,
      pointer: at + pointer('entity'),
      meta,
    });
  }
  const action = typeof raw.action === 'string' ? raw.action.toLowerCase() : undefined;
  if (action !== 'upsert' && action !== 'delete') {
    problems.push({ code: 'ACTION_UNKNOWN', detail: `action must be "upsert" or "delete", got ${showValue(raw.action)}`, pointer: at + pointer('action'), meta });
  }
  const hasPayload = raw.payload !== undefined;
  const hasCriteria = raw.criteria !== undefined;
  if (hasPayload && !Array.isArray(raw.payload)) {
    problems.push({ code: 'OPERATION_INVALID', detail: 'payload must be a list', pointer: at + pointer('payload'), meta });
  }
  if (hasCriteria && action === 'upsert') {
    problems.push({ code: 'OPERATION_INVALID', detail: 'criteria are only allowed with action delete', pointer: at + pointer('criteria'), meta });
  } else if (hasPayload && hasCriteria) {
    problems.push({ code: 'PAYLOAD_AND_CRITERIA', detail: 'give either payload or criteria, not both', pointer: at + pointer('criteria'), meta });
  } else if (!hasPayload && !hasCriteria) {
    problems.push({
      code: 'OPERATION_INVALID',
      detail: action === 'delete' ? 'a delete needs payload (keys) or criteria' : 'an upsert needs payload',
      pointer: at + pointer('payload'),
      meta,
    });
  }
  const extensions = parseExtensions(raw, { action, entity, at, meta, problems });
  if (problems.length || !entity || (action !== 'upsert' && action !== 'delete')) return { problems };
  return {
    operation: {
      key,
      entity,
      action,
      payload: Array.isArray(raw.payload) ? raw.payload : undefined,
      criteria: hasCriteria ? (raw.criteria as unknown[]) : undefined,
      ...extensions,
    },
    problems,
  };
}

/** The extensions of an upsert operation: mode, matchBy and missing (see docs/sync-api.md, "Write modes"). */
/** An operation's header as read so far, and where its problems go. */
interface HeaderSite {
  action: string | undefined;
  entity: EntityDef | undefined;
  at: string;
  meta: { operation: string };
  problems: Problem[];
}

function parseExtensions(raw: Record<string, unknown>, { action, entity, at, meta, problems }: HeaderSite): { mode: WriteMode; matchBy: string[]; missing?: MissingClause } {
  const out: { mode: WriteMode; matchBy: string[]; missing?: MissingClause } = { mode: 'merge', matchBy: [] };
  const bad = (prop: string, detail: string, ...more: (string | number)[]) =>
    problems.push({ code: 'OPERATION_INVALID', detail, pointer: at + pointer(prop, ...more), meta });
  for (const prop of ['mode', 'matchBy', 'missing']) {
    if (raw[prop] !== undefined && action === 'delete') bad(prop, `${prop} applies to upserts only`);
  }
  if (action === 'delete') return out;
  if (raw.mode !== undefined) {
    if (typeof raw.mode === 'string' && (MODES as readonly string[]).includes(raw.mode)) out.mode = raw.mode as WriteMode;
    else bad('mode', `mode must be one of ${MODES.join(', ')}, got ${showValue(raw.mode)}`);
  }
  if (raw.matchBy !== undefined) {
    if (!Array.isArray(raw.matchBy) || raw.matchBy.length === 0) bad('matchBy', 'matchBy must be a non-empty list of unique field names');
    else {
      raw.matchBy.forEach((f, i) => {
        const field = typeof f === 'string' ? entity?.fields[f] : undefined;
        if (entity && (!field || !field.unique || entity.primaryKey.includes(field.name))) {
          const unique = entity.fieldList.filter((x) => x.unique && !entity.primaryKey.includes(x.name)).map((x) => x.name);
          bad('matchBy', `${showValue(f)} is not a unique field of ${entity.name} (unique: ${unique.join(', ') || 'none'})`, i);
        } else if (typeof f === 'string') out.matchBy.push(f);
      });
    }
  }
  if (raw.missing !== undefined) {
    const m = raw.missing;
    if (!isObject(m)) bad('missing', 'missing must be { "within": [criteria], "set": { … } } or { "within": [criteria], "delete": true }');
    else {
      for (const k of Object.keys(m)) if (!['within', 'set', 'delete', 'maxRatio', 'maxRecords', 'force'].includes(k)) bad('missing', `unknown property "${k}"`, k);
      const guard: Pick<MissingClause, 'maxRatio' | 'maxRecords' | 'force'> = {};
      if (m.maxRatio !== undefined) {
        if (typeof m.maxRatio === 'number' && m.maxRatio >= 0 && m.maxRatio <= 1) guard.maxRatio = m.maxRatio;
        else bad('missing', `maxRatio must be a number from 0 to 1, got ${showValue(m.maxRatio)}`, 'maxRatio');
      }
      if (m.maxRecords !== undefined) {
        if (typeof m.maxRecords === 'number' && Number.isSafeInteger(m.maxRecords) && m.maxRecords >= 0) guard.maxRecords = m.maxRecords;
        else bad('missing', `maxRecords must be a whole number of at least 0, got ${showValue(m.maxRecords)}`, 'maxRecords');
      }
      if (m.force !== undefined) {
        if (typeof m.force === 'boolean') guard.force = m.force;
        else bad('missing', `force must be true or false, got ${showValue(m.force)}`, 'force');
      }
      if (m.within === undefined) bad('missing', 'missing needs "within": the criteria of the snapshot', 'within');
      const hasSet = m.set !== undefined;
      const del = m.delete === true;
      if (m.delete !== undefined && m.delete !== true) bad('missing', 'delete must be true (or left out)', 'delete');
      if (hasSet === del) bad('missing', 'give exactly one of "set" and "delete": true');
      else if (hasSet && !isObject(m.set)) bad('missing', 'set must be an object of fields', 'set');
      else out.missing = { within: m.within, ...(hasSet ? { set: m.set } : { delete: true }), ...guard };
    }
  }
  return out;
}
