import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { definitionFileSchema, type DefinitionFile } from './definition-file';
import { fastCheck, type Check } from './fast-checks';
import { kindOf } from './kinds';
import { STRICT_OUTBOUND, type OutboundUrlPolicy } from './public-url';
import type { AssociationDef, EntityDef, FieldDef, IndexerDef } from './types';

export class DefinitionError extends Error {}

export function snakeCase(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/([A-Z])([A-Z][a-z])/g, '$1_$2').toLowerCase();
}

function formatPath(p: readonly PropertyKey[]): string {
  return p.length ? p.map((s) => String(s)).join('.') : '(root)';
}

/** Reads and validates one definition file; throws DefinitionError naming the file, the path inside it and the fault. */
export function parseDefinitionFile(file: string, text: string): DefinitionFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DefinitionError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = definitionFileSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${file}: at ${formatPath(i.path)}: ${i.message}`);
    throw new DefinitionError(`Invalid entity definition:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

const IMPLICIT_TIMESTAMPS: Record<string, FieldDef> = {
  createdAt: {
    name: 'createdAt', column: 'created_at', kind: 'datetime', required: false, unique: false, nullable: false,
    writeProtected: 'writer', readable: true, encrypted: false, translated: false, mergeKeys: false, upperCase: false, resolver: false,
  },
  updatedAt: {
    name: 'updatedAt', column: 'updated_at', kind: 'datetime', required: false, unique: false, nullable: true,
    writeProtected: 'writer', readable: true, encrypted: false, translated: false, mergeKeys: false, upperCase: false, resolver: false,
  },
};

/** Turns a validated file into an entity (defaults applied, columns named, validators built once). */
export interface LoadOptions {
  /** Policy of fields of format publicUrl (default: https only, no private addresses). */
  outbound?: OutboundUrlPolicy;
}

export function buildEntity(file: string, def: DefinitionFile, opts: LoadOptions = {}): Omit<EntityDef, 'associations' | 'indexers'> & {
  rawAssociations: DefinitionFile['associations'];
  rawIndexers: DefinitionFile['indexers'];
} {
  // Null prototypes: a client's field name such as "constructor" must not find Object.prototype's.
  const fields: Record<string, FieldDef> = Object.create(null) as Record<string, FieldDef>;
  for (const [fieldName, f] of Object.entries(def.fields)) {
    const required = f.required ?? false;
    const writeProtected =
      f.writeProtected === true ? 'definition' : typeof f.writeProtected === 'string' ? f.writeProtected : def.readOnly ? 'read-only entity' : false;
    fields[fieldName] = {
      name: fieldName,
      column: f.column ?? snakeCase(fieldName),
      kind: f.kind,
      required,
      unique: f.unique ?? false,
      nullable: f.nullable ?? (!required && f.default === undefined && f.kind !== 'id'),
      default: f.default ?? undefined,
      writeProtected,
      readable: f.read ?? true,
      min: f.min,
      max: f.max,
      minLength: f.minLength,
      maxLength: f.maxLength,
      pattern: f.pattern,
      enum: f.enum && typeof f.enum[0] === 'string' ? (f.enum as string[]) : undefined,
      numberEnum: f.enum && typeof f.enum[0] === 'number' ? (f.enum as number[]) : undefined,
      format: f.format,
      outbound: f.format === 'publicUrl' ? (opts.outbound ?? STRICT_OUTBOUND) : undefined,
      encrypted: f.encrypted ?? false,
      jsonSchema: f.jsonSchema as Record<string, unknown> | undefined,
      references: f.references,
      onDelete: f.kind === 'fk' ? (f.onDelete ?? 'restrict') : undefined,
      aliases: f.aliases,
      translated: f.translated ?? false,
      mergeKeys: f.mergeKeys ?? false,
      itemReferences: f.itemReferences,
      upperCase: f.upperCase ?? false,
      resolver: f.resolver ?? false,
    };
  }
  for (const [n, f] of Object.entries(IMPLICIT_TIMESTAMPS)) {
    if (fields[n]) throw new DefinitionError(`${file}: at fields.${n}: ${n} is implicit on every entity and set by the writer`);
    fields[n] = { ...f };
  }
  const primaryKey = def.primaryKey ?? (fields.id ? ['id'] : []);
  if (!primaryKey.length) throw new DefinitionError(`${file}: at primaryKey: no "id" field and no "primaryKey" list`);
  for (const [i, k] of primaryKey.entries()) {
    const f = fields[k];
    if (!f) throw new DefinitionError(`${file}: at primaryKey.${i}: field "${k}" is not defined`);
    if (f.kind !== 'id' && f.kind !== 'fk') throw new DefinitionError(`${file}: at primaryKey.${i}: "${k}" must be of kind id or fk`);
    f.nullable = false;
  }
  const table = def.table ?? def.entity;
  for (const [fieldName, f] of Object.entries(def.fields)) {
    if (!f.table) continue;
    if (primaryKey.length !== 1) throw new DefinitionError(`${file}: at fields.${fieldName}.table: a table of its own needs an entity with a single-column key`);
    fields[fieldName]!.sideTable = { table: f.table, key: `${table}_id`, owner: fields[primaryKey[0]!]!.column };
  }
  const uniqueKeys: string[][] = Object.values(fields).filter((f) => f.unique).map((f) => [f.name]);
  for (const [i, key] of (def.unique ?? []).entries()) {
    for (const k of key) if (!fields[k]) throw new DefinitionError(`${file}: at unique.${i}: field "${k}" is not defined`);
    uniqueKeys.push([...key]);
  }
  const sameKey = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
  let matchKeys: string[][];
  if (def.matchKeys) {
    matchKeys = def.matchKeys.map((k) => [...k]);
    for (const [i, key] of matchKeys.entries()) {
      if (!uniqueKeys.some((u) => sameKey(u, key))) {
        throw new DefinitionError(`${file}: at matchKeys.${i}: ${key.join(' + ')} is not a unique key (mark the field unique, or list it under "unique")`);
      }
    }
  } else matchKeys = uniqueKeys.filter((k) => k.includes('externalId')).map((k) => [...k]);
  const validators = new Map<string, z.ZodType>();
  const checks = new Map<string, Check>();
  for (const f of Object.values(fields)) {
    const check = fastCheck(f);
    if (check) checks.set(f.name, check);
    try {
      validators.set(f.name, kindOf(f).validator(f));
    } catch (e) {
      throw new DefinitionError(`${file}: at fields.${f.name}: ${(e as Error).message}`);
    }
  }
  const isMapping = primaryKey.length > 1 && primaryKey.every((k) => fields[k]!.kind === 'fk');
  return {
    name: def.entity,
    table,
    file,
    fields,
    fieldList: Object.values(fields),
    primaryKey,
    uniqueKeys,
    matchKeys,
    isMapping,
    readOnly: def.readOnly ?? false,
    validators,
    checks,
    ignoredIndexers: def.ignoredIndexers ?? [],
    rawAssociations: def.associations,
    rawIndexers: def.indexers,
  };
}

/** Resolves associations once every entity is known, so that mapping keys can be inferred. */
export function linkAssociations(
  entity: ReturnType<typeof buildEntity>,
  all: ReadonlyMap<string, ReturnType<typeof buildEntity>>,
): Record<string, AssociationDef> {
  const out: Record<string, AssociationDef> = Object.create(null) as Record<string, AssociationDef>;
  const where = (n: string) => `${entity.file}: at associations.${n}`;
  for (const [n, a] of Object.entries(entity.rawAssociations ?? {})) {
    if (entity.fields[n]) throw new DefinitionError(`${where(n)}: the name is already used by a field`);
    const target = all.get(a.entity);
    if (!target) throw new DefinitionError(`${where(n)}: entity "${a.entity}" is not defined`);
    if (a.type === 'manyToOne') {
      const via = entity.fields[a.via];
      if (!via || via.kind !== 'fk' || via.references !== a.entity) {
        throw new DefinitionError(`${where(n)}: "via" must name an fk field of ${entity.name} that references ${a.entity}`);
      }
      out[n] = { name: n, ...a };
    } else if (a.type === 'oneToMany') {
      const fk = target.fields[a.foreignKey];
      if (!fk || fk.kind !== 'fk' || fk.references !== entity.name) {
        throw new DefinitionError(`${where(n)}: "foreignKey" must name an fk field of ${a.entity} that references ${entity.name}`);
      }
      out[n] = { name: n, ...a };
    } else {
      const mapping = all.get(a.mapping);
      if (!mapping) throw new DefinitionError(`${where(n)}: mapping entity "${a.mapping}" is not defined`);
      const fks = mapping.fieldList.filter((f) => f.kind === 'fk');
      const localKey = a.localKey ?? fks.find((f) => f.references === entity.name)?.name;
      const targetKey = a.targetKey ?? fks.find((f) => f.references === a.entity && f.name !== localKey)?.name;
      if (!localKey || mapping.fields[localKey]?.references !== entity.name) {
        throw new DefinitionError(`${where(n)}: ${a.mapping} has no fk field referencing ${entity.name} (set "localKey")`);
      }
      if (!targetKey || mapping.fields[targetKey]?.references !== a.entity) {
        throw new DefinitionError(`${where(n)}: ${a.mapping} has no fk field referencing ${a.entity} (set "targetKey")`);
      }
      out[n] = { name: n, type: 'manyToMany', entity: a.entity, mapping: a.mapping, localKey, targetKey };
    }
  }
  return out;
}

/** Every *.json file of the given directories, sorted by name within each directory. */
export function listDefinitionFiles(dirs: readonly string[]): string[] {
  const files: string[] = [];
  for (const dir of dirs) {
    if (!fs.existsSync(dir)) throw new DefinitionError(`Schema directory ${dir} does not exist`);
    for (const f of fs.readdirSync(dir).sort()) {
      if (f.endsWith('.json') && !f.endsWith('.schema.json')) files.push(path.join(dir, f));
    }
  }
  return files;
}

/** Checks an entity's indexers against its fields and associations (names exist, kinds fit). */
export function linkIndexers(
  entity: ReturnType<typeof buildEntity>,
  associations: Record<string, AssociationDef>,
  all: ReadonlyMap<string, ReturnType<typeof buildEntity>>,
): IndexerDef[] {
  const out: IndexerDef[] = [];
  for (const [name, ix] of Object.entries(entity.rawIndexers ?? {})) {
    const where = `${entity.file}: at indexers.${name}`;
    const field = (n: string | undefined, prop: string, kinds: string[], on = entity) => {
      if (n === undefined) return;
      const f = on.fields[n];
      if (!f) throw new DefinitionError(`${where}.${prop}: ${on.name} has no field "${n}"`);
      if (!kinds.includes(f.kind)) throw new DefinitionError(`${where}.${prop}: "${n}" must be of kind ${kinds.join(' or ')}`);
    };
    if (ix.type === 'tree') {
      field(ix.parent, 'parent', ['fk']);
      if (entity.fields[ix.parent]!.references !== entity.name) throw new DefinitionError(`${where}.parent: "${ix.parent}" must reference ${entity.name} itself`);
      field(ix.path, 'path', ['idList']);
      field(ix.level, 'level', ['int']);
      field(ix.childCount, 'childCount', ['int']);
      field(ix.breadcrumb, 'breadcrumb', ['json']);
      field(ix.label, 'label', ['string', 'text']);
      if (ix.breadcrumb && !ix.label) throw new DefinitionError(`${where}: a breadcrumb needs "label", the field whose values it lists`);
    } else if (ix.type === 'ancestors') {
      const a = associations[ix.association];
      if (!a || a.type !== 'manyToMany') throw new DefinitionError(`${where}.association: "${ix.association}" must be a manyToMany association of ${entity.name}`);
      const target = all.get(a.entity)!;
      field(ix.parent, 'parent', ['fk'], target);
      field(ix.target, 'target', ['idList']);
    } else {
      field(ix.target, 'target', ['tsvector']);
      for (const [i, src] of ix.sources.entries()) {
        const [first, second] = src.split('.');
        if (second === undefined) field(first, `sources.${i}`, ['string', 'text']);
        else {
          const a = associations[first!];
          if (!a || a.type !== 'manyToOne') throw new DefinitionError(`${where}.sources.${i}: "${first}" must be a manyToOne association of ${entity.name}`);
          field(second, `sources.${i}`, ['string', 'text'], all.get(a.entity)!);
        }
      }
    }
    out.push({ name, ...ix } as IndexerDef);
  }
  return out;
}
