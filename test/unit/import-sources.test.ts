import path from 'node:path';
import { Readable } from 'node:stream';
import { rowConverter } from '../../src/cli/import/convert';
import { FieldShapes } from '../../src/cli/import/field-shapes';
import { csvRows, jsonArrayRecords, ndjsonRecords, type SourceItem } from '../../src/cli/import/sources';
import type { OpenApiDocument } from '../../src/client';
import { loadRegistry } from '../../src/definitions/registry';
import { openApiDocument } from '../../src/read/openapi/document';
import { syncHeaderParameters } from '../../src/sync/options';

/** The text in pieces of `size` characters: records and strings cut at every possible place. */
function pieces(text: string, size: number): Readable {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return Readable.from(parts);
}

async function all(items: AsyncIterable<SourceItem>): Promise<{ line: number; record?: unknown; cells?: string[]; code?: string }[]> {
  const out = [];
  for await (const item of items) out.push({ line: item.line, ...(item.record ? { record: item.record } : {}), ...(item.cells ? { cells: item.cells } : {}), ...('problem' in item ? { code: item.problem.code } : {}) });
  return out;
}

describe('import readers', () => {
  const json = '[\n  {"a": "}]\\"{[", "b": [1, {"c": 2}]},\n\n  {"d": "line\\nbreak"}\n,{}]\n';

  it.each([1, 2, 3, 7, 1000])('finds the records of a JSON array and the line each starts on, in chunks of %i', async (size) => {
    expect(await all(jsonArrayRecords(pieces(json, size)))).toEqual([
      { line: 2, record: { a: '}]"{[', b: [1, { c: 2 }] } },
      { line: 4, record: { d: 'line\nbreak' } },
      { line: 5, record: {} },
    ]);
  });

  it('refuses what is not an array of objects', async () => {
    await expect(all(jsonArrayRecords(pieces('{"a": 1}', 4)))).rejects.toThrow('line 1: expected a JSON array');
    await expect(all(jsonArrayRecords(pieces('[{"a": 1},\n 2]', 4)))).rejects.toThrow('line 2: expected a JSON object');
    await expect(all(jsonArrayRecords(pieces('[{"a": 1}', 4)))).rejects.toThrow('the JSON array is not closed');
  });

  it('numbers NDJSON lines, empty ones included, and reports lines that are not objects', async () => {
    expect(await all(ndjsonRecords(pieces('{"a":1}\n\n[1]\n{oops\n{"b":2}\n', 3)))).toEqual([
      { line: 1, record: { a: 1 } },
      { line: 3, code: 'VALUE_INVALID' },
      { line: 4, code: 'BODY_NOT_JSON' },
      { line: 5, record: { b: 2 } },
    ]);
  });

  it('gives each CSV row the line it starts on, and a malformed row its own line, in order', async () => {
    expect(await all(csvRows(pieces('a,b\n"x\ny",1\n1,2,3\n4,5\n', 2)))).toEqual([
      { line: 1, cells: ['a', 'b'] },
      { line: 2, cells: ['x\ny', '1'] },
      { line: 4, code: 'CSV_INVALID' },
      { line: 5, cells: ['4', '5'] },
    ]);
  });
});

describe('CSV cells converted by field kind', () => {
  const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
  const shapes = new FieldShapes(openApiDocument(registry, { version: '0', license: 'x', publicDocs: false, syncHeaders: syncHeaderParameters }) as unknown as OpenApiDocument);

  it('converts numbers, booleans, JSON, nested and list columns, and maps columns', () => {
    const c = rowConverter(['No', 'stock', 'active', 'price', 'tax.name', 'tax.taxRate', 'categories', 'properties.name', 'properties.position', 'skip'], 'product', shapes, {
      map: { No: 'productNumber', skip: null },
      empty: 'omit',
    });
    expect(c.convert(['SW-1', '7', 'No', '[{"gross":1}]', 'Standard', '19.5', 'a|b', 'red|blue', '1|2', 'ignored']).record).toEqual({
      productNumber: 'SW-1',
      stock: 7,
      active: false,
      price: [{ gross: 1 }],
      tax: { name: 'Standard', taxRate: 19.5 },
      categories: [{ id: 'a' }, { id: 'b' }],
      properties: [{ name: 'red', position: 1 }, { name: 'blue', position: 2 }],
    });
    expect(c.columnOf('tax.taxRate')).toBe('tax.taxRate');
    expect(c.columnOf('productNumber')).toBe('No');
    expect(c.columnOf('properties/1/name')).toBe('properties.name');
  });

  it('reports cells that do not fit with their column, and leaves empty cells out unless --empty null', () => {
    const c = rowConverter(['stock', 'active', 'price', 'ean'], 'product', shapes, { map: {}, empty: 'omit' });
    const { record, problems } = c.convert(['1.5', 'maybe', '{oops', '']);
    expect(record).toEqual({});
    expect(problems.map((p) => [p.column, p.message])).toEqual([
      ['stock', 'expected an integer, got "1.5"'],
      ['active', 'expected true or false, got "maybe"'],
      ['price', 'expected JSON, got "{oops"'],
    ]);
    const nulls = rowConverter(['ean', 'name'], 'product', shapes, { map: {}, empty: 'null' });
    expect(nulls.convert(['', '']).record).toEqual({ ean: null });
    expect(nulls.convert(['', '']).problems.map((p) => p.message)).toEqual(['empty, and the field cannot be null']);
  });

  it('refuses columns the entity has no field for, naming each', () => {
    expect(() => rowConverter(['colour', 'tax.colour', 'stock.value'], 'product', shapes, { map: {}, empty: 'omit' })).toThrow(
      /colour: product has no field "colour"\n  tax.colour: tax has no field "colour"\n  stock.value: "stock" is a field of kind integer/,
    );
  });
});
