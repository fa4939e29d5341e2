import { z } from 'zod';
import { KIND_NAMES } from './kinds';

/** The shape of one file in schemas/: the only place an entity is described. */
const name = z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected snake_case (a-z, 0-9, _)');
const apiName = z.string().regex(/^[a-z][a-zA-Z0-9]*$/, 'expected camelCase (a-z, A-Z, 0-9)');

export const fieldFileSchema = z
  .object({
    kind: z.enum(KIND_NAMES),
    column: name.optional(),
    required: z.boolean().optional(),
    unique: z.boolean().optional(),
    nullable: z.boolean().optional(),
    default: z.json().optional(),
    writeProtected: z.union([z.boolean(), z.string().min(1)]).optional(),
    read: z.boolean().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    minLength: z.number().int().min(0).optional(),
    maxLength: z.number().int().min(1).optional(),
    pattern: z.string().optional(),
    /** Allowed values: strings for string fields, numbers for int and float fields (product_visibility: 10, 20, 30). */
    enum: z.union([z.array(z.string()).min(1), z.array(z.number()).min(1)]).optional(),
    format: z.enum(['email', 'url', 'publicUrl']).optional(),
    /** Stored encrypted at rest (AES-256-GCM); combine with "read": false for a write-only secret. */
    encrypted: z.boolean().optional(),
    jsonSchema: z.record(z.string(), z.json()).optional(),
    references: name.optional(),
    onDelete: z.enum(['cascade', 'set null', 'restrict']).optional(),
    /** Other names this unique field answers to as a reference resolver (Shopware's product.number). */
    aliases: z.array(z.string().regex(/^[a-z][a-zA-Z0-9_]*$/)).optional(),
    /** Values live per language in the table <entity>_translation (see docs/adding-entities.md, "Translated fields"). */
    translated: z.boolean().optional(),
    /** json objects only: in merge mode an update merges the given keys into the stored object (a key set to null is removed). */
    mergeKeys: z.boolean().optional(),
    /**
     * json lists of objects: properties that hold the id of another entity's record (price[].currencyId → currency),
     * checked and resolvable like foreign keys. The entity should stay small: its keys are read once per request.
     */
    itemReferences: z.record(apiName, name).optional(),
    /** Values are upper-cased before they are checked, written or looked up (ISO codes). */
    upperCase: z.boolean().optional(),
    /** A reference resolver by this field although it is not unique: it resolves when exactly one record matches. */
    resolver: z.boolean().optional(),
    /**
     * Stored in this table, one row per record keyed by <entity table>_id, instead of in the entity's own row: for an
     * indexer's tsvector, whose GIN index would otherwise be written on every write of the record.
     */
    table: name.optional(),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.kind === 'fk' && !f.references) {
      ctx.addIssue({ code: 'custom', path: ['references'], message: 'an fk field needs "references"' });
    }
    if (f.kind !== 'fk' && (f.references || f.onDelete)) {
      ctx.addIssue({ code: 'custom', path: ['references'], message: '"references"/"onDelete" only apply to kind fk' });
    }
    if (f.encrypted && f.kind !== 'string' && f.kind !== 'text') {
      ctx.addIssue({ code: 'custom', path: ['encrypted'], message: 'only string and text fields can be encrypted' });
    }
    if (f.encrypted && (f.unique || f.pattern || f.enum || f.format)) {
      ctx.addIssue({ code: 'custom', path: ['encrypted'], message: 'an encrypted field cannot be unique or have a pattern, enum or format checked in the database' });
    }
    if (f.aliases && !f.unique && !f.resolver) {
      ctx.addIssue({ code: 'custom', path: ['aliases'], message: 'aliases name a reference resolver; only unique fields (or fields with "resolver": true) have one' });
    }
    if (f.translated && !['string', 'text', 'json'].includes(f.kind)) {
      ctx.addIssue({ code: 'custom', path: ['translated'], message: 'only string, text and json fields can be translated' });
    }
    if (f.translated && (f.unique || f.encrypted || f.default !== undefined || f.writeProtected || f.column || f.resolver)) {
      ctx.addIssue({ code: 'custom', path: ['translated'], message: 'a translated field cannot be unique, encrypted, write-protected, have a default, a column name or a resolver' });
    }
    if (f.enum && typeof f.enum[0] === 'number' && f.kind !== 'int' && f.kind !== 'float') {
      ctx.addIssue({ code: 'custom', path: ['enum'], message: 'numbers in enum apply to int and float fields' });
    }
    if (f.enum && typeof f.enum[0] === 'string' && f.kind !== 'string' && f.kind !== 'text') {
      ctx.addIssue({ code: 'custom', path: ['enum'], message: 'strings in enum apply to string and text fields' });
    }
    if (f.mergeKeys && f.kind !== 'json') {
      ctx.addIssue({ code: 'custom', path: ['mergeKeys'], message: 'mergeKeys applies to json fields only' });
    }
    if (f.itemReferences && f.kind !== 'json') {
      ctx.addIssue({ code: 'custom', path: ['itemReferences'], message: 'itemReferences applies to json fields only' });
    }
    if (f.upperCase && f.kind !== 'string') {
      ctx.addIssue({ code: 'custom', path: ['upperCase'], message: 'upperCase applies to string fields only' });
    }
    if (f.table && (f.kind !== 'tsvector' || f.read !== false || !f.writeProtected)) {
      ctx.addIssue({ code: 'custom', path: ['table'], message: 'a table of its own applies to tsvector fields that are write-protected and not read ("read": false)' });
    }
    if (f.pattern) {
      try {
        new RegExp(f.pattern);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'not a valid regular expression' });
      }
    }
  });

export const associationFileSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('manyToOne'), entity: name, via: apiName }).strict(),
  z.object({ type: z.literal('oneToMany'), entity: name, foreignKey: apiName }).strict(),
  z
    .object({
      type: z.literal('manyToMany'),
      entity: name,
      mapping: name,
      localKey: apiName.optional(),
      targetKey: apiName.optional(),
    })
    .strict(),
]);

/** Names other systems give this indexer (Shopware's product.search-keyword): indexing-skip accepts them too. */
const indexerAliases = z.array(z.string().regex(/^[a-z][a-z0-9_.-]*$/, 'expected a lowercase name such as product.search')).optional();

/** Derived data kept up to date by an indexer (see docs/indexing.md); the kinds are generic, the names free. */
export const indexerFileSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('tree'),
      parent: apiName,
      path: apiName.optional(),
      level: apiName.optional(),
      childCount: apiName.optional(),
      breadcrumb: apiName.optional(),
      label: apiName.optional(),
      aliases: indexerAliases,
    })
    .strict(),
  z.object({ type: z.literal('ancestors'), association: apiName, parent: apiName, target: apiName, aliases: indexerAliases }).strict(),
  z
    .object({
      type: z.literal('search'),
      target: apiName,
      sources: z.array(z.string().regex(/^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)?$/, 'expected "field" or "association.field"')).min(1),
      aliases: indexerAliases,
    })
    .strict(),
]);

export const definitionFileSchema = z
  .object({
    $schema: z.string().optional(),
    entity: name,
    table: name.optional(),
    description: z.string().optional(),
    primaryKey: z.array(apiName).min(1).optional(),
    /** Written by the service only: the sync API refuses to write or delete it; the read API reads it. */
    readOnly: z.boolean().optional(),
    fields: z.record(apiName, fieldFileSchema).refine((f) => Object.keys(f).length > 0, 'at least one field'),
    unique: z.array(z.array(apiName).min(1)).optional(),
    /** Unique keys that find an existing record when a record comes without id (default: those with externalId). */
    matchKeys: z.array(z.array(apiName).min(1)).optional(),
    associations: z.record(apiName, associationFileSchema).optional(),
    /** Names of another system's indexers that do not exist here: indexing-skip accepts and ignores them (and says so). */
    ignoredIndexers: z.array(z.string().regex(/^[a-z][a-z0-9_.-]*$/, 'expected a lowercase name such as product.search')).optional(),
    indexers: z.record(z.string().regex(/^[a-z][a-z0-9_.-]*$/, 'expected a lowercase name such as product.search'), indexerFileSchema).optional(),
  })
  .strict();

export type DefinitionFile = z.infer<typeof definitionFileSchema>;
