import fs from 'node:fs';
import type { FieldCipher } from './field-cipher';
import { buildEntity, DefinitionError, type LoadOptions, linkAssociations, linkIndexers, listDefinitionFiles, parseDefinitionFile } from './loader';
import { LANGUAGE_ENTITY, LANGUAGE_KEY, TRANSLATIONS_KEY, translationDefinition } from './translations';
import type { EntityDef, IncomingReference, ResolverDef } from './types';

/** All registered entities, their association graph and the order in which foreign keys are satisfied. */
export class Registry {
  private readonly byName: ReadonlyMap<string, EntityDef>;
  /** Entities ordered so that every entity comes after the entities it references (self-references aside). */
  readonly order: readonly string[];
  private readonly incoming: ReadonlyMap<string, readonly IncomingReference[]>;
  private readonly resolvers: ReadonlyMap<string, ResolverDef>;
  private cipher?: FieldCipher;

  constructor(entities: readonly EntityDef[]) {
    this.byName = new Map(entities.map((e) => [e.name, e]));
    this.order = topologicalOrder(entities);
    const incoming = new Map<string, IncomingReference[]>();
    for (const e of entities) {
      for (const f of e.fieldList) {
        if (f.kind !== 'fk') continue;
        const list = incoming.get(f.references!) ?? [];
        list.push({ entity: e.name, field: f.name, onDelete: f.onDelete! });
        incoming.set(f.references!, list);
      }
    }
    this.incoming = incoming;
    // Every unique key of every entity with an id is a resolver: `entity.field` (and its aliases) for one field,
    // `entity.a+b` for a composite key.
    const resolvers = new Map<string, ResolverDef>();
    for (const e of entities) {
      if (e.primaryKey.length !== 1) continue;
      for (const key of e.uniqueKeys) {
        if (key.some((k) => e.primaryKey.includes(k))) continue;
        const fields = key.map((k) => e.fields[k]!);
        const names = key.length === 1 ? [key[0]!, ...(fields[0]!.aliases ?? [])] : [key.join('+')];
        for (const n of names) resolvers.set(`${e.name}.${n}`, { name: `${e.name}.${n}`, entity: e, fields });
      }
      // A non-unique field marked "resolver" (tax.taxRate): resolves only when exactly one record matches.
      for (const f of e.fieldList) {
        if (!f.resolver || f.unique) continue;
        for (const n of [f.name, ...(f.aliases ?? [])]) resolvers.set(`${e.name}.${n}`, { name: `${e.name}.${n}`, entity: e, fields: [f], ambiguous: true });
      }
    }
    this.resolvers = resolvers;
  }

  /** Gives the registry the key of encrypted fields (derived from the token secret, known once the service booted). */
  useFieldCipher(cipher: FieldCipher): void {
    this.cipher = cipher;
  }

  /** The key of encrypted fields; throws when the service did not set one (a programming error, not bad input). */
  fieldCipher(): FieldCipher {
    if (!this.cipher) throw new Error('no key for encrypted fields: call useFieldCipher at startup');
    return this.cipher;
  }

  /** The reference resolver of that name (`product.productNumber`, `country.iso`, …). */
  resolver(name: string): ResolverDef | undefined {
    return this.resolvers.get(name);
  }

  resolverNames(): string[] {
    return [...this.resolvers.keys()].sort();
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  get(name: string): EntityDef {
    const e = this.byName.get(name);
    if (!e) throw new Error(`entity ${name} is not registered`);
    return e;
  }

  find(name: string): EntityDef | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  all(): EntityDef[] {
    return this.order.map((n) => this.get(n));
  }

  /** Foreign keys of other entities (or the same one) that point at `entity`. */
  referencing(entity: string): readonly IncomingReference[] {
    return this.incoming.get(entity) ?? [];
  }

  /** Position of the entity in FK order (lower first). */
  rank(entity: string): number {
    return this.order.indexOf(entity);
  }
}

export function topologicalOrder(entities: readonly EntityDef[]): string[] {
  const deps = new Map<string, Set<string>>();
  for (const e of entities) {
    const d = new Set<string>();
    for (const f of e.fieldList) if (f.kind === 'fk' && f.references !== e.name) d.add(f.references!);
    deps.set(e.name, d);
  }
  const order: string[] = [];
  const done = new Set<string>();
  // Kahn's algorithm with names sorted at every step, so that the order is stable across runs.
  while (done.size < entities.length) {
    const ready = [...deps.keys()].filter((n) => !done.has(n) && [...deps.get(n)!].every((d) => done.has(d))).sort();
    if (!ready.length) {
      const left = [...deps.keys()].filter((n) => !done.has(n)).sort();
      throw new DefinitionError(`Foreign keys form a cycle between: ${left.join(', ')} (make one of them a nullable fk written later)`);
    }
    for (const n of ready) {
      done.add(n);
      order.push(n);
    }
  }
  return order;
}

/** Builds a registry from definition texts; every cross-reference is checked. */
export function registryFromTexts(files: readonly { file: string; text: string }[], opts: LoadOptions = {}): Registry {
  const built = new Map<string, ReturnType<typeof buildEntity>>();
  const tables = new Map<string, string>();
  const defs: { file: string; def: ReturnType<typeof parseDefinitionFile>; translates?: string }[] = [];
  for (const { file, text } of files) {
    const def = parseDefinitionFile(file, text);
    defs.push({ file, def });
    const translation = translationDefinition(def);
    if (translation) {
      if (def.associations?.[TRANSLATIONS_KEY]) throw new DefinitionError(`${file}: at associations.${TRANSLATIONS_KEY}: the name is taken by the translations of the translated fields`);
      def.associations = { ...def.associations, [TRANSLATIONS_KEY]: { type: 'oneToMany', entity: translation.entity, foreignKey: translation.primaryKey![0]! } };
      defs.push({ file, def: translation, translates: def.entity });
    }
  }
  for (const { file, def, translates } of defs) {
    const e = buildEntity(file, def, opts);
    const translated = e.fieldList.filter((f) => f.translated);
    if (translated.length) {
      const tr = translationDefinition(def)!;
      const ownerKey = tr.primaryKey![0]!;
      e.translation = {
        entity: tr.entity,
        table: tr.table!,
        ownerKey,
        ownerColumn: tr.fields[ownerKey]!.column!,
        languageKey: LANGUAGE_KEY,
        languageColumn: 'language_id',
        fields: translated,
      };
    }
    if (translates) {
      e.translates = translates;
      // Rows with data of their own: listed in `data` when written, like records (as key objects, as Shopware does).
      e.isMapping = false;
    }
    const dup = built.get(e.name);
    if (dup) throw new DefinitionError(`${file}: at entity: "${e.name}" is already defined in ${dup.file}`);
    const tableOwner = tables.get(e.table);
    if (tableOwner) throw new DefinitionError(`${file}: at table: "${e.table}" is already used by ${tableOwner}`);
    built.set(e.name, e);
    tables.set(e.table, e.name);
  }
  if ([...built.values()].some((e) => e.translation) && !built.has(LANGUAGE_ENTITY)) {
    throw new DefinitionError(`translated fields need the entity "${LANGUAGE_ENTITY}" (id, name, localeCode); no definition defines it`);
  }
  for (const e of built.values()) {
    for (const f of e.fieldList) {
      for (const [prop, ref] of Object.entries(f.itemReferences ?? {})) {
        const t = built.get(ref);
        if (!t || t.primaryKey.length !== 1) throw new DefinitionError(`${e.file}: at fields.${f.name}.itemReferences.${prop}: "${ref}" is not an entity with a single id`);
      }
      if (f.kind !== 'fk') continue;
      const target = built.get(f.references!);
      if (!target) throw new DefinitionError(`${e.file}: at fields.${f.name}.references: entity "${f.references}" is not defined`);
      // An fk is one uuid column: it can only point at a record known by one id.
      if (target.primaryKey.length !== 1) {
        throw new DefinitionError(
          `${e.file}: at fields.${f.name}.references: "${f.references}" has a composite key (${target.primaryKey.join(', ')}) and no single id an fk could hold`,
        );
      }
    }
  }
  const entities: EntityDef[] = [];
  for (const e of built.values()) {
    const { rawAssociations: _raw, rawIndexers: _ix, ...rest } = e;
    const associations = linkAssociations(e, built);
    entities.push({ ...rest, associations, indexers: linkIndexers(e, associations, built) });
  }
  return new Registry(entities);
}

export function loadRegistry(dirs: readonly string[], opts: LoadOptions = {}): Registry {
  const files = listDefinitionFiles(dirs).map((file) => ({ file, text: fs.readFileSync(file, 'utf8') }));
  if (!files.length) throw new DefinitionError(`No entity definitions (*.json) found in ${dirs.join(', ')}`);
  return registryFromTexts(files, opts);
}
