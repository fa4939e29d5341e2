/** Shared pieces of the OpenAPI document: component references, id schemas, media types, security. */
export type Schema = Record<string, unknown>;

/** A header parameter of a route, under its component name (the sync route's come from its table of headers). */
export interface HeaderParameter {
  component: string;
  parameter: Schema & { name: string };
}

/**
 * Component names. Entities are snake_case, so the generic schemas (PascalCase) never collide with them; an
 * entity's other schemas are `<entity>.write`, `<entity>.key`, `<entity>.resolver`, `<entity>.upsert`,
 * `<entity>.delete`.
 */
export const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
export const param = (name: string): Schema => ({ $ref: `#/components/parameters/${name}` });
export const header = (name: string): Schema => ({ $ref: `#/components/headers/${name}` });
export const response = (name: string): Schema => ({ $ref: `#/components/responses/${name}` });

/** An id as the API answers it. */
export const ID: Schema = { type: 'string', pattern: '^[0-9a-f]{32}$', description: 'UUID as 32 lowercase hex characters' };
/** An id as the API accepts it. */
export const ID_INPUT: Schema = {
  type: 'string',
  pattern: '^([0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$',
  description: 'UUID: 32 hex characters, or the dashed form',
};
export const REQUEST_ID_PATTERN = '^[A-Za-z0-9._:-]{1,128}$';
export const MODES = ['merge', 'replace', 'create-only'];
export const JSON_API = 'application/vnd.api+json';
/** Every route under /api but the token route: an access token, pasted or fetched with client credentials. */
export const BEARER = [{ bearer: [] }, { oauth2: [] }];
export const OPEN: unknown[] = [];

/** The answered value of a field, as JSON Schema (OpenAPI 3.1 dialect). */
