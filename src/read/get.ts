import type { Knex } from 'knex';
import { ident } from '../db/sql';
import { readSource } from '../definitions/sql/translated';
import { isId, toApiId, toDbId } from '../definitions/ids';
import type { Registry } from '../definitions/registry';
import type { EntityDef } from '../definitions/types';
import { ApiError, showValue } from '../errors';
import { assertCanRead, selectionEntities, type ReadAccess } from './access';
import { loadAssociations } from './associations';
import { columnsFor, newNode, toApiRecord } from './records';
import { buildSelection, inLanguage } from './selection';
import { withReadSession } from './session';
import type { ApiRecord } from './types';

/** The entity a read route names; unknown entities answer 404 like unknown routes. */
export function readableEntity(registry: Registry, name: string): EntityDef {
  const entity = registry.find(name);
  if (!entity) throw new ApiError({ code: 'NOT_FOUND', detail: `no entity "${name}"`, meta: { entity: name } });
  return entity;
}

/**
 * GET /api/<entity>/<id>: one record by its id. `associations` is the query parameter's comma-separated list of
 * (dotted) association paths, loaded as search loads them.
 */
export async function getRecord(
  knex: Knex,
  registry: Registry,
  access: ReadAccess,
  entityName: string,
  id: string,
  associations?: string,
  language?: string,
): Promise<ApiRecord> {
  const entity = readableEntity(registry, entityName);
  assertCanRead(access, [entity.translates ?? entity.name]);
  if (entity.primaryKey.length !== 1) {
    throw new ApiError({
      code: 'NOT_FOUND',
      detail: `${entity.name} has a composite key (${entity.primaryKey.join(', ')}) and no single id; use POST /api/search/${entity.name} with a filter on its key fields`,
      meta: { entity: entity.name },
    });
  }
  if (!isId(id)) {
    throw new ApiError({ code: 'ID_INVALID', detail: `expected a UUID (32 hex characters or the dashed form), got ${showValue(id)}`, meta: { entity: entity.name, parameter: 'id' } });
  }
  const paths = associations === undefined ? undefined : associations.split(',').map((s) => s.trim()).filter(Boolean);
  const built = buildSelection(registry, entity, paths, undefined);
  if (!built.ok) {
    // The pointer would lead into a body this request does not have: name the query parameter instead.
    throw new ApiError(built.problems.map(({ pointer: _p, ...p }) => ({ ...p, meta: { entity: entity.name, parameter: 'associations' } })));
  }
  const selection = inLanguage(built.selection, language);
  assertCanRead(access, selectionEntities(selection));
  const idCol = entity.fields[entity.primaryKey[0]!]!.column;
  const record = await withReadSession(knex, selection.associations.size > 0, async (sql) => {
    const cols = columnsFor(selection).map((c) => `t.${ident(c)}`).join(', ');
    const { rows } = await sql.query(`SELECT ${cols} FROM ${readSource(entity, selection.language)} t WHERE t.${ident(idCol)} = $1::uuid`, [toDbId(id)]);
    const row = rows[0];
    if (!row) return undefined;
    const node = newNode(row);
    await loadAssociations(sql, registry, selection, [node]);
    return toApiRecord(selection, node);
  });
  if (!record) {
    throw new ApiError({ code: 'NOT_FOUND', detail: `${entity.name} ${toApiId(id)} does not exist`, meta: { entity: entity.name } });
  }
  return record;
}
