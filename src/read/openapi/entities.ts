/** OpenAPI schemas of each entity: as read, as written (with nested associations and resolvers), its key. */
import { STRING_MAX_LENGTH, TEXT_MAX_LENGTH } from '../../definitions/kinds';
import { MAX_VERSION_LENGTH, VERSION_FIELD } from '../../definitions/record-version';
import type { Registry } from '../../definitions/registry';
import type { EntityDef, FieldDef, ResolverDef } from '../../definitions/types';
import { MAX_NESTING } from '../../definitions/limits';
import { type Schema, ref, ID } from './common';

export function fieldSchema(f: FieldDef): Schema {
  let s: Schema;
  switch (f.kind) {
    case 'id':
    case 'fk':
      s = { ...ID };
      break;
    case 'string':
    case 'text':
      s = { type: 'string' };
      if (f.maxLength !== undefined) s.maxLength = f.maxLength;
      if (f.enum) s.enum = f.enum;
      if (f.format === 'email') s.format = 'email';
      if (f.format === 'url') s.format = 'uri';
      break;
    case 'int':
    case 'float':
      s = { type: f.kind === 'int' ? 'integer' : 'number' };
      if (f.min !== undefined) s.minimum = f.min;
      if (f.max !== undefined) s.maximum = f.max;
      if (f.numberEnum) s.enum = f.numberEnum;
      break;
    case 'bool':
      s = { type: 'boolean' };
      break;
    case 'json':
      s = f.jsonSchema ? { ...f.jsonSchema } : {};
      break;
    case 'idList':
      s = { type: 'array', items: ID };
      break;
    case 'datetime':
      s = { type: 'string', format: 'date-time' };
      break;
    case 'tsvector':
      s = { type: 'string' };
      break;
  }
  if (f.writeProtected) s.readOnly = true;
  // Every answered field is present; a value may be null unless the column cannot hold one.
  return f.nullable || f.writeProtected ? { anyOf: [s, { type: 'null' }] } : s;
}

/** What the writer accepts for a field, not null, without resolvers: the same bounds as its validator. */
export function inputSchema(f: FieldDef): Schema {
  switch (f.kind) {
    case 'id':
    case 'fk':
      return ref('IdInput');
    case 'string':
    case 'text': {
      if (f.enum) return { type: 'string', enum: f.enum };
      const s: Schema = { type: 'string', maxLength: f.maxLength ?? (f.kind === 'text' ? TEXT_MAX_LENGTH : STRING_MAX_LENGTH) };
      if (f.minLength !== undefined) s.minLength = f.minLength;
      if (f.pattern) s.pattern = f.pattern;
      if (f.format === 'email') s.format = 'email';
      if (f.format === 'url') s.format = 'uri';
      return s;
    }
    case 'int':
      if (f.numberEnum) return { type: 'integer', enum: f.numberEnum };
      return { type: 'integer', minimum: f.min ?? -2147483648, maximum: f.max ?? 2147483647 };
    case 'float': {
      const s: Schema = { type: 'number' };
      if (f.min !== undefined) s.minimum = f.min;
      if (f.max !== undefined) s.maximum = f.max;
      return s;
    }
    case 'bool':
      return { type: 'boolean' };
    case 'json':
      return f.jsonSchema ? { ...f.jsonSchema } : { description: 'any JSON value' };
    case 'idList':
      return { type: 'array', items: ref('IdInput') };
    case 'datetime':
      return { type: 'string', format: 'date-time', description: 'ISO 8601 with an offset' };
    case 'tsvector':
      return { type: 'string' };
  }
}

export function entitySchema(e: EntityDef): Schema {
  const properties: Record<string, Schema> = {};
  const fields = e.fieldList.filter((f) => f.readable);
  for (const f of fields) properties[f.name] = fieldSchema(f);
  for (const a of Object.values(e.associations)) {
    const target = ref(a.entity);
    properties[a.name] =
      a.type === 'manyToOne'
        ? { anyOf: [target, { type: 'null' }], description: `loaded when "${a.name}" is among the associations` }
        : { type: 'array', items: target, description: `loaded when "${a.name}" is among the associations` };
  }
  if (e.translation) {
    const shown = e.translation.fields.filter((f) => f.readable);
    properties.translated = {
      type: 'object',
      properties: Object.fromEntries(shown.map((f) => [f.name, fieldSchema(f)])),
      description: `the translated fields as answered: in the language of sw-language-id, each falling back to the default language's value (Shopware's "translated")`,
    };
  }
  properties[VERSION_FIELD] = {
    type: 'string',
    readOnly: true,
    description: 'the record\'s version: changes with every write of the record (its translations and links included), not with an unchanged re-send or indexing. Opaque; send it back as _version to write only if nobody wrote the record since (VERSION_CONFLICT otherwise)',
  };
  const schema: Schema = { type: 'object', required: [...e.primaryKey], properties };
  schema.description = `${e.name} as the read endpoints answer it${e.isMapping ? ` (mapping entity, keyed by ${e.primaryKey.join(' + ')})` : ''}; written with ${e.name}.write`;
  return schema;
}

/** The resolvers of the registry, grouped per entity and per key (a field's aliases share one entry). */
export function resolversByEntity(registry: Registry): Map<string, { def: ResolverDef; names: string[] }[]> {
  const out = new Map<string, { def: ResolverDef; names: string[] }[]>();
  for (const name of registry.resolverNames()) {
    const def = registry.resolver(name)!;
    const list = out.get(def.entity.name) ?? [];
    const key = def.fields.map((f) => f.name).join('+');
    const same = list.find((r) => r.def.fields.map((f) => f.name).join('+') === key);
    if (same) same.names.push(name);
    else list.push({ def, names: [name] });
    out.set(def.entity.name, list);
  }
  return out;
}

/** `{ "resolver": "<entity>.<key>", "value": …, "nullOnMissing": false }`: one alternative per unique key. */
export function resolverSchema(entity: string, resolvers: { def: ResolverDef; names: string[] }[]): Schema {
  const variants = resolvers.map(({ def, names }) => {
    const single = def.fields.length === 1;
    const value: Schema = single
      ? inputSchema(def.fields[0]!)
      : {
          type: 'object',
          required: def.fields.map((f) => f.name),
          additionalProperties: false,
          properties: Object.fromEntries(def.fields.map((f) => [f.name, inputSchema(f)])),
        };
    return {
      type: 'object',
      required: ['resolver', 'value'],
      additionalProperties: false,
      properties: {
        resolver: { type: 'string', enum: names },
        value: { ...value, description: single ? `the ${def.fields[0]!.name} to look up` : `the fields of the key ${def.fields.map((f) => f.name).join(' + ')}` },
        nullOnMissing: {
          type: 'boolean',
          default: false,
          description: 'true: a value that finds nothing gives null (only where the field may be null; on a record\'s own id: the record is created with a new id) instead of REFERENCE_UNRESOLVED',
        },
      },
    };
  });
  return {
    ...(variants.length === 1 ? variants[0]! : { oneOf: variants }),
    description: `names a ${entity} by a unique key instead of its id; looked up once per resolver and operation, finds records written earlier in the same request`,
  };
}

/** A field of a record sent to the sync endpoint: its input value, a resolver for ids and foreign keys, null if allowed. */
export function writeFieldSchema(e: EntityDef, f: FieldDef, resolvers: Map<string, unknown>): Schema {
  const alternatives: Schema[] = [inputSchema(f)];
  const target = f.kind === 'fk' ? f.references! : f.kind === 'id' ? e.name : undefined;
  if (target && resolvers.has(target)) alternatives.push(ref(`${target}.resolver`));
  if (f.nullable) alternatives.push({ type: 'null' });
  const s: Schema = alternatives.length === 1 ? { ...alternatives[0]! } : { oneOf: alternatives };
  const notes: string[] = [];
  if (e.primaryKey.length === 1 && e.primaryKey[0] === f.name) {
    notes.push(
      `the record's id: an existing id merges into that record, a new one creates it; left out, the record is matched by ${
        [...e.matchKeys.map((k) => k.join(' + ')), 'matchBy'].join(', ')
      } or created with a new id (UUIDv7)`,
    );
  } else if (e.primaryKey.includes(f.name)) notes.push(`part of the key of ${e.name}: always needed`);
  else if (f.required) notes.push(`required to create a ${e.name}`);
  if (f.kind === 'fk') notes.push(`references ${f.references} (on delete: ${f.onDelete})`);
  if (f.translated) notes.push(`translated: written for the request's language (sw-language-id, default en-GB); other languages under "translations"${f.required ? '; required in the default language to create' : ''}`);
  if (notes.length) s.description = notes.join('; ');
  if (f.default !== undefined) s.default = f.default;
  return s;
}

/** A record as the sync endpoint takes it: writable fields only, nested associated records, resolvers. */
export function writeSchema(registry: Registry, e: EntityDef, resolvers: Map<string, unknown>): Schema {
  const properties: Record<string, Schema> = {};
  const writable = e.fieldList.filter((f) => !f.writeProtected);
  for (const f of writable) {
    properties[f.name] = writeFieldSchema(e, f, resolvers);
    // A field no read answers (a secret): written, never read back.
    if (!f.readable) properties[f.name] = { ...properties[f.name], writeOnly: true };
  }
  properties[VERSION_FIELD] = VERSION_PRECONDITION;
  for (const a of Object.values(e.associations)) {
    const target = ref(`${a.entity}.write`);
    if (e.translation && a.entity === e.translation.entity) {
      properties[a.name] = translationsWriteSchema(e, resolvers);
      continue;
    }
    if (a.type === 'manyToOne') {
      properties[a.name] = {
        ...target,
        description: `a ${a.entity} record, upserted (or, with only its id, referenced) and linked through ${a.via}; ${a.via} may be given too if it names the same record`,
      };
    } else if (a.type === 'oneToMany') {
      properties[a.name] = { type: 'array', items: target, description: `${a.entity} records, upserted with ${a.foreignKey} set to this record` };
    } else {
      properties[a.name] = {
        type: 'array',
        items: target,
        description: `${a.entity} records linked through ${registry.get(a.mapping).name}: links are only added (existing ones kept); records with more than an id are upserted`,
      };
    }
  }
  const requiredOnCreate = [...new Set([...e.primaryKey.filter(() => e.primaryKey.length > 1), ...writable.filter((f) => f.required).map((f) => f.name)])];
  return {
    type: 'object',
    additionalProperties: false,
    properties,
    'x-required-on-create': requiredOnCreate,
    description:
      `A ${e.name} record for POST /api/_action/sync. An existing record is merged (only the fields given change), so no field is ` +
      `required in general; creating one needs ${requiredOnCreate.length ? requiredOnCreate.join(', ') : 'no field'} (x-required-on-create) — ` +
      `unless the record it is nested in, or a nested many-to-one record, provides it — and mode replace needs them on every record. ` +
      `Write-protected fields (${e.fieldList.filter((f) => f.writeProtected).map((f) => f.name).join(', ')}) are not accepted. ` +
      `Nested records go at most ${MAX_NESTING} levels deep.`,
  };
}

/** A delete payload item: the primary key, ids only. */
/** `_version` in a record or key sent to the sync endpoint. */
const VERSION_PRECONDITION: Schema = {
  type: 'string',
  maxLength: MAX_VERSION_LENGTH,
  description: 'precondition: the _version a read answered; the record is written (or deleted) only if it still has it, else the record fails with VERSION_CONFLICT (409, the current version in meta.currentVersion). Left out or null: no check',
};

export function keySchema(e: EntityDef): Schema {
  return {
    type: 'object',
    required: [...e.primaryKey],
    properties: { ...Object.fromEntries(e.primaryKey.map((k) => [k, ref('IdInput')])), [VERSION_FIELD]: VERSION_PRECONDITION },
    propertyNames: { enum: [...e.fieldList.map((f) => f.name), VERSION_FIELD] },
    description: `the key of a ${e.name} to delete (other fields of ${e.name} are ignored, unknown ones are FIELD_UNKNOWN)`,
  };
}

/** `translations` of a record: keyed by language id or locale code, or a list of translations naming languageId. */
function translationsWriteSchema(e: EntityDef, resolvers: Map<string, unknown>): Schema {
  const tr = e.translation!;
  const fields = Object.fromEntries(tr.fields.map((f) => [f.name, writeFieldSchema(e, { ...f, required: false, nullable: true }, resolvers)]));
  const entry: Schema = { type: 'object', additionalProperties: false, properties: fields };
  return {
    oneOf: [
      { type: 'object', additionalProperties: entry, description: 'keyed by language id (32 hex or dashed) or locale code (de-DE)' },
      {
        type: 'array',
        items: { type: 'object', required: [tr.languageKey], additionalProperties: false, properties: { [tr.languageKey]: { type: 'string', description: 'a language id or locale code' }, ...fields } },
      },
    ],
    description:
      `${e.name}'s translated fields in several languages at once; an entry wins over a plain value for the same language. ` +
      'An unknown language is LANGUAGE_NOT_FOUND (400) pointing at its key.',
  };
}
