import type { Knex } from 'knex';
import { isId, toApiId, toDbId } from '../definitions/ids';
import type { Registry } from '../definitions/registry';
import type { EntityDef } from '../definitions/types';
import { showValue } from '../errors';
import { missingPrivileges, selectionEntities, type ReadAccess } from './access';
import { loadAssociations } from './associations';
import { newNode, toApiRecord } from './records';
import { buildSelection, inLanguage } from './selection';
import { withReadSession } from './session';
import { selectRecord } from './sql/get';
import { refuse, type ApiRecord, type ReadResult } from './types';

/** The entity a read route names; unknown entities answer 404 like unknown routes. */
export function readableEntity(registry: Registry, name: string): ReadResult<EntityDef> {
  const entity = registry.find(name);
  if (!entity) return refuse({ code: 'NOT_FOUND', detail: `no entity "${name}"`, meta: { entity: name } });
  return { ok: true, value: entity };
}

export interface GetRequest {
  entity: string;
  id: string;
  /** The query parameter's comma-separated list of (dotted) association paths. */
  associations?: string;
  access: ReadAccess;
  /** Database spelling of the language translated fields are answered in; absent: the default one. */
  language?: string;
}

/** GET /api/<entity>/<id>: one record by its id, associations loaded as search loads them. */
export async function getRecord(knex: Knex, registry: Registry, req: GetRequest): Promise<ReadResult<ApiRecord>> {
  const found = readableEntity(registry, req.entity);
  if (!found.ok) return found;
  const entity = found.value;
  const forbidden = missingPrivileges(req.access, [entity.translates ?? entity.name]);
  if (forbidden.length) return refuse(forbidden);
  if (entity.primaryKey.length !== 1) {
    return refuse({
      code: 'NOT_FOUND',
      detail: `${entity.name} has a composite key (${entity.primaryKey.join(', ')}) and no single id; use POST /api/search/${entity.name} with a filter on its key fields`,
      meta: { entity: entity.name },
    });
  }
  if (!isId(req.id)) {
    return refuse({ code: 'ID_INVALID', detail: `expected a UUID (32 hex characters or the dashed form), got ${showValue(req.id)}`, meta: { entity: entity.name, parameter: 'id' } });
  }
  const paths = req.associations === undefined ? undefined : req.associations.split(',').map((s) => s.trim()).filter(Boolean);
  const built = buildSelection(registry, entity, { associations: paths, fields: undefined });
  // The pointer would lead into a body this request does not have: name the query parameter instead.
  if (!built.ok) return refuse(built.problems.map(({ pointer: _p, ...p }) => ({ ...p, meta: { entity: entity.name, parameter: 'associations' } })));
  const selection = inLanguage(built.selection, req.language);
  const hidden = missingPrivileges(req.access, selectionEntities(selection));
  if (hidden.length) return refuse(hidden);
  const record = await withReadSession(knex, selection.associations.size > 0, async (sql) => {
    const row = await selectRecord(sql, selection, toDbId(req.id));
    if (!row) return undefined;
    const node = newNode(row);
    await loadAssociations(sql, registry, selection, [node]);
    return toApiRecord(selection, node);
  });
  if (!record) return refuse({ code: 'NOT_FOUND', detail: `${entity.name} ${toApiId(req.id)} does not exist`, meta: { entity: entity.name } });
  return { ok: true, value: record };
}
