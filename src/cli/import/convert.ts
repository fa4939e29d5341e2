import type { JsonRecord } from '../../client';
import { UsageError } from '../args';
import type { FieldShapes, Shape } from './field-shapes';

/** Separator of list cells (`categories`: `id1|id2`). */
export const LIST_SEPARATOR = '|';

export interface CellProblem {
  column: string;
  field: string;
  message: string;
}

/** Sets one column's cell on a record; returns a problem instead of throwing. */
type ColumnWriter = (record: JsonRecord, cell: string) => CellProblem | undefined;

export interface RowConverter {
  /** Column name → API field path, for mapping error pointers back to columns. */
  columnOf(fieldPath: string): string | undefined;
  convert(cells: string[]): { record: JsonRecord; problems: CellProblem[] };
}

export interface ConvertOptions {
  /** Column → field path (`tax.name`), or null to leave the column out. Columns not named map to themselves. */
  map: Record<string, string | null>;
  /** What an empty cell means: the field is left out (default), or set to null. */
  empty: 'omit' | 'null';
}

/**
 * Builds, once per file, a writer per CSV column from the header and the entity's field kinds: an unknown column is
 * a usage error before anything is sent, and each row then costs one call per cell.
 */
export function rowConverter(header: string[], entity: string, shapes: FieldShapes, opts: ConvertOptions): RowConverter {
  const writers: (ColumnWriter | undefined)[] = [];
  const columns = new Map<string, string>();
  const unknown: string[] = [];
  header.forEach((column, i) => {
    const target = column in opts.map ? opts.map[column] : column;
    if (target === null || target === undefined || target === '') {
      writers[i] = undefined;
      return;
    }
    const writer = compile(target.split('.'), entity, { shapes, column, target, opts });
    if (typeof writer === 'string') unknown.push(`${column}${target !== column ? ` (→ ${target})` : ''}: ${writer}`);
    else {
      writers[i] = writer;
      columns.set(target, column);
    }
  });
  if (unknown.length) throw new UsageError(`columns that ${entity} has no field for:\n  ${unknown.join('\n  ')}\n(rename them with --map, or map them to null to leave them out)`);
  return {
    columnOf: (fieldPath) => {
      if (columns.has(fieldPath)) return columns.get(fieldPath);
      // `/0/categories/1/name` → categories.name; `/0/tax/taxRate` → tax.taxRate
      const dotted = fieldPath.split('/').filter((s) => s && !/^\d+$/.test(s)).join('.');
      // `categories.id`: the id of a listed link, given by a column of ids (`categories`).
      return columns.get(dotted) ?? (dotted.endsWith('.id') ? columns.get(dotted.slice(0, -'.id'.length)) : undefined);
    },
    convert: (cells) => {
      const record: JsonRecord = {};
      const problems: CellProblem[] = [];
      for (let i = 0; i < writers.length; i++) {
        const w = writers[i];
        if (!w) continue;
        const p = w(record, cells[i] ?? '');
        if (p) problems.push(p);
      }
      return { record, problems };
    },
  };
}

/** A writer for the field path `segments` of `entity`, or a string saying why there is none. */
/** What every step of one column's path shares: the shapes to walk, the column and its target path, the options. */
interface ColumnSite {
  shapes: FieldShapes;
  column: string;
  target: string;
  opts: ConvertOptions;
}

function compile(segments: string[], entity: string, site: ColumnSite): ColumnWriter | string {
  const { shapes, column, target, opts } = site;
  const [name, ...rest] = segments;
  const field = shapes.of(entity).fields.get(name!);
  if (!field) return `${entity} has no field "${name}"`;
  const { shape, nullable } = field;
  const problem = (message: string): CellProblem => ({ column, field: target, message });
  if (rest.length) {
    if (shape.kind === 'entity') {
      const inner = compile(rest, shape.entity, site);
      if (typeof inner === 'string') return inner;
      return (record, cell) => inner(child(record, name!), cell);
    }
    if (shape.kind === 'entityList') {
      const inner = compile(rest, shape.entity, site);
      if (typeof inner === 'string') return inner;
      // `categories.name` = `Shirts|Linen`: item i of the list gets part i; other columns fill the same items.
      return (record, cell) => {
        if (cell === '') return undefined;
        const list = (record[name!] ??= []) as JsonRecord[];
        const parts = cell.split(LIST_SEPARATOR);
        for (let i = 0; i < parts.length; i++) {
          const p = inner((list[i] ??= {}), parts[i]!.trim());
          if (p) return p;
        }
        return undefined;
      };
    }
    return `"${name}" is a field of kind ${shape.kind}, not an association: "${rest.join('.')}" cannot be set inside it`;
  }
  const value = converter(shape, nullable);
  return (record, cell) => {
    if (cell === '') {
      if (opts.empty === 'null') {
        if (!nullable) return problem('empty, and the field cannot be null');
        record[name!] = null;
      }
      return undefined;
    }
    const v = value(cell);
    if (v instanceof Problem) return problem(v.message);
    record[name!] = v;
    return undefined;
  };
}

class Problem {
  constructor(readonly message: string) {}
}

function child(record: JsonRecord, name: string): JsonRecord {
  const existing = record[name];
  if (existing && typeof existing === 'object' && !Array.isArray(existing)) return existing as JsonRecord;
  const created: JsonRecord = {};
  record[name] = created;
  return created;
}

const TRUE = new Set(['true', '1', 'yes', 'y', 'on']);
const FALSE = new Set(['false', '0', 'no', 'n', 'off']);

/** Cell text → value of the field's kind; numbers and booleans are checked here so that the error has a line. */
function converter(shape: Shape, nullable: boolean): (cell: string) => unknown {
  switch (shape.kind) {
    case 'string':
    case 'id':
      return (cell) => cell;
    case 'integer':
      return (cell) => (/^\s*[-+]?\d+\s*$/.test(cell) ? Number(cell) : new Problem(`expected an integer, got "${cell}"`));
    case 'number':
      return (cell) => {
        const n = Number(cell.trim());
        return cell.trim() !== '' && Number.isFinite(n) ? n : new Problem(`expected a number, got "${cell}"`);
      };
    case 'boolean':
      return (cell) => {
        const v = cell.trim().toLowerCase();
        return TRUE.has(v) ? true : FALSE.has(v) ? false : new Problem(`expected true or false, got "${cell}"`);
      };
    case 'json':
      return (cell) => {
        try {
          return JSON.parse(cell) as unknown;
        } catch {
          return new Problem(`expected JSON, got "${cell.length > 40 ? `${cell.slice(0, 40)}…` : cell}"`);
        }
      };
    case 'list': {
      const item = converter(shape.item, false);
      return (cell) => {
        const out: unknown[] = [];
        for (const part of cell.split(LIST_SEPARATOR)) {
          if (part.trim() === '') continue;
          const v = item(part.trim());
          if (v instanceof Problem) return v;
          out.push(v);
        }
        return out;
      };
    }
    case 'entity':
      // A column naming the association itself (`tax`) holds the id of the record to link.
      return (cell) => ({ id: cell.trim() });
    case 'entityList':
      // `categories` = `id1|id2`: link those records.
      return (cell) =>
        cell
          .split(LIST_SEPARATOR)
          .map((p) => p.trim())
          .filter(Boolean)
          .map((id) => ({ id }));
  }
  void nullable;
}
