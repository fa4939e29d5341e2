import type { JsonRecord, OpenApiDocument } from '../../client';

/** How a field of an entity's write schema takes a value: what a CSV cell is converted to. */
export type Shape =
  | { kind: 'string' | 'integer' | 'number' | 'boolean' | 'id' | 'json' }
  | { kind: 'list'; item: Shape }
  | { kind: 'entity'; entity: string }
  | { kind: 'entityList'; entity: string };

export interface EntityShapes {
  entity: string;
  fields: Map<string, { shape: Shape; nullable: boolean }>;
}

/**
 * Field kinds read from the service's OpenAPI document (`<entity>.write`), not guessed from the values: the
 * document is generated from the same definitions that validate the sync request.
 */
export class FieldShapes {
  private readonly cache = new Map<string, EntityShapes>();

  constructor(private readonly doc: OpenApiDocument) {}

  /** Entities the service lets one write. */
  entities(): string[] {
    return Object.keys(this.doc.components.schemas)
      .filter((k) => k.endsWith('.write'))
      .map((k) => k.slice(0, -'.write'.length))
      .sort();
  }

  has(entity: string): boolean {
    return Boolean(this.doc.components.schemas[`${entity}.write`]);
  }

  of(entity: string): EntityShapes {
    const cached = this.cache.get(entity);
    if (cached) return cached;
    const schema = this.doc.components.schemas[`${entity}.write`];
    if (!schema) throw new Error(`unknown entity ${entity}`);
    const fields = new Map<string, { shape: Shape; nullable: boolean }>();
    for (const [name, prop] of Object.entries((schema.properties ?? {}) as Record<string, JsonRecord>)) fields.set(name, shapeOf(prop));
    const shapes = { entity, fields };
    this.cache.set(entity, shapes);
    return shapes;
  }
}

function refName(s: JsonRecord): string | undefined {
  return typeof s.$ref === 'string' ? s.$ref.replace('#/components/schemas/', '') : undefined;
}

function shapeOf(s: JsonRecord): { shape: Shape; nullable: boolean } {
  const alternatives = (s.oneOf ?? s.anyOf) as JsonRecord[] | undefined;
  if (alternatives) {
    const nullable = alternatives.some((a) => a.type === 'null');
    // A resolver object is an alternative spelling of an id; a CSV cell holds the id itself.
    const main = alternatives.find((a) => a.type !== 'null' && !refName(a)?.endsWith('.resolver'));
    return { shape: main ? shapeOf(main).shape : { kind: 'json' }, nullable };
  }
  const ref = refName(s);
  if (ref === 'IdInput') return { shape: { kind: 'id' }, nullable: false };
  if (ref?.endsWith('.write')) return { shape: { kind: 'entity', entity: ref.slice(0, -'.write'.length) }, nullable: false };
  switch (s.type) {
    case 'string':
      return { shape: { kind: 'string' }, nullable: false };
    case 'integer':
    case 'number':
    case 'boolean':
      return { shape: { kind: s.type }, nullable: false };
    case 'array': {
      const item = shapeOf((s.items ?? {}) as JsonRecord).shape;
      if (item.kind === 'entity') return { shape: { kind: 'entityList', entity: item.entity }, nullable: false };
      if (item.kind === 'string' || item.kind === 'id' || item.kind === 'integer' || item.kind === 'number') return { shape: { kind: 'list', item }, nullable: false };
      return { shape: { kind: 'json' }, nullable: false };
    }
    default:
      return { shape: { kind: 'json' }, nullable: false };
  }
}
