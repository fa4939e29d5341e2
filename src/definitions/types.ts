import type { z } from 'zod';
import type { KindName } from './kinds';
import type { OutboundUrlPolicy } from './public-url';

export type DeleteRule = 'cascade' | 'set null' | 'restrict';

/** A field of an entity, resolved from its definition file (defaults applied, column named). */
export interface FieldDef {
  name: string;
  column: string;
  kind: KindName;
  required: boolean;
  unique: boolean;
  nullable: boolean;
  default?: unknown;
  /** false, or why the field cannot be written (e.g. "indexer:product.search", "writer"). */
  writeProtected: false | string;
  readable: boolean;
  min?: number;
  max?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: string[];
  /** Allowed values of an int or float field. */
  numberEnum?: number[];
  format?: 'email' | 'url' | 'publicUrl';
  /** format publicUrl: which URLs the service may call (set from the configuration at load time). */
  outbound?: OutboundUrlPolicy;
  /** Stored encrypted (AES-256-GCM, key from the token secret); see field-cipher.ts. */
  encrypted: boolean;
  jsonSchema?: Record<string, unknown>;
  references?: string;
  onDelete?: DeleteRule;
  /** Extra resolver names of a unique field. */
  aliases?: string[];
  /** Stored per language in the entity's translation table, not in its own table (see translations.ts). */
  translated: boolean;
  /** json object merged key-wise into the stored one in merge mode. */
  mergeKeys: boolean;
  /** json list items: property → entity whose id it holds (checked and resolvable like a foreign key). */
  itemReferences?: Readonly<Record<string, string>>;
  /** Values are upper-cased before checks, writes and lookups. */
  upperCase: boolean;
  /** A resolver by this non-unique field: it resolves when exactly one record matches. */
  resolver: boolean;
  /**
   * The value lives in a table of its own (`table`), one row per record: `key` holds the record's id (the entity's
   * column `owner`), `column` the value. Only an indexer writes it; reads never return it; `term` filters look it up.
   */
  sideTable?: SideTable;
}

export interface SideTable {
  table: string;
  key: string;
  owner: string;
}

export type AssociationDef =
  | { name: string; type: 'manyToOne'; entity: string; via: string }
  | { name: string; type: 'oneToMany'; entity: string; foreignKey: string }
  | {
      name: string;
      type: 'manyToMany';
      entity: string;
      mapping: string;
      /** Field of the mapping entity that references the owning entity. */
      localKey: string;
      /** Field of the mapping entity that references the associated entity. */
      targetKey: string;
    };

export type IndexerDef =
  | { name: string; type: 'tree'; parent: string; path?: string; level?: string; childCount?: string; breadcrumb?: string; label?: string; aliases?: string[] }
  | { name: string; type: 'ancestors'; association: string; parent: string; target: string; aliases?: string[] }
  | { name: string; type: 'search'; target: string; sources: string[]; aliases?: string[] };

export interface EntityDef {
  name: string;
  table: string;
  file: string;
  fields: Readonly<Record<string, FieldDef>>;
  fieldList: readonly FieldDef[];
  primaryKey: readonly string[];
  /** Every unique key: single unique fields and composite ones, each a list of field names. */
  uniqueKeys: readonly (readonly string[])[];
  /** Unique keys that find an existing record for a record sent without id (default: those containing externalId). */
  matchKeys: readonly (readonly string[])[];
  associations: Readonly<Record<string, AssociationDef>>;
  /** Indexers that derive fields of this entity. */
  indexers: readonly IndexerDef[];
  /** Another system's indexer names that indexing-skip accepts and ignores. */
  ignoredIndexers: readonly string[];
  /** A mapping entity has a composite primary key made of foreign keys only (e.g. product_category). */
  isMapping: boolean;
  /** Written by the service only (e.g. webhook_delivery): the sync refuses to write or delete it. */
  readOnly: boolean;
  /** The entity holding this entity's translated fields (`<entity>_translation`), if it has any. */
  translation?: TranslationDef;
  /** Set on a translation entity: the entity it translates. */
  translates?: string;
  /** Built once at load time: validator of a non-null value per writable field. */
  validators: ReadonlyMap<string, z.ZodType>;
  /** Plain checks of the scalar fields (same verdicts and messages as `validators`, cheaper). */
  checks: ReadonlyMap<string, (v: unknown) => string | undefined>;
}

/** How an entity's translated fields are stored: which entity, and its two key fields. */
export interface TranslationDef {
  entity: string;
  table: string;
  /** Column of the translation table naming the translated record. */
  ownerColumn: string;
  /** Column of the translation table naming the language. */
  languageColumn: string;
  /** Field of the translation entity naming the translated record (`productId`). */
  ownerKey: string;
  /** Field of the translation entity naming the language (`languageId`). */
  languageKey: string;
  /** The translated fields, as the owning entity lists them. */
  fields: readonly FieldDef[];
  /** Resolves only when exactly one record matches (a non-unique field such as tax.taxRate). */
  ambiguous?: boolean;
}

/** A foreign key as seen from the entity it points at. */
export interface IncomingReference {
  entity: string;
  field: string;
  onDelete: DeleteRule;
}

/** A reference resolver: `<entity>.<unique field>` (or an alias) finds a record's id by a natural key. */
export interface ResolverDef {
  name: string;
  entity: EntityDef;
  /** One field, or the fields of a composite unique key (resolver name `entity.a+b`, value `{ a, b }`). */
  fields: readonly FieldDef[];
  /** Resolves only when exactly one record matches (a non-unique field such as tax.taxRate). */
  ambiguous?: boolean;
}
