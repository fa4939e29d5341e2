import path from 'node:path';
import { loadRegistry } from '../../src/definitions/registry';
import type { IndexMarks } from '../../src/indexing/marks';
import { qualifies } from '../../src/sync/commit/happy-path';
import { keepEarly, tableInput, takeEarly } from '../../src/sync/commit/table-input';
import type { UpsertCommand } from '../../src/sync/types';
import { prepareUpsertSet } from '../../src/write/upsert-set';
import { planBody } from '../support/plan-body';

/**
 * Which chunks are written by one statement per table with PostgreSQL's constraints checking them (the rest take
 * the diagnosing path): decided from the plan alone, no database.
 */
const registry = loadRegistry([path.resolve(__dirname, '../../schemas')]);
const TAX = '0189bf2a627a7296adbc83527ba9ac29';
const CAT = '0189bf2a627a7296adbc83527ba9c001';
const marks = (readsBefore = false) => ({ readsBefore: () => readsBefore }) as unknown as IndexMarks;
const product = (n: number, extra: Record<string, unknown> = {}) => ({
  id: `0189bf2a627a7296adbc83527ba9d${String(n).padStart(3, '0')}`,
  productNumber: `P-${n}`,
  name: `P ${n}`,
  stock: 1,
  price: [{ currencyId: 'b7d2554b0ce847cd82f3ac9bd1c0dfca', gross: 1, net: 1, linked: true }],
  taxId: TAX,
  ...extra,
});

function planOf(op: Record<string, unknown>) {
  const planned = planBody({ op }, registry);
  if (planned.problems) throw new Error(JSON.stringify(planned.problems));
  return planned.plans[0]!;
}

describe('a chunk PostgreSQL can check by itself', () => {
  it('is one whose records carry their ids and every field a new record needs', () => {
    expect(qualifies(planOf({ entity: 'product', action: 'upsert', payload: [product(1), product(2)] }), marks())).toBe(true);
  });

  it('may link to records by their id alone (the link checks they exist)', () => {
    const plan = planOf({ entity: 'product', action: 'upsert', payload: [product(1, { categories: [{ id: CAT }] })] });
    expect(plan.commands.map((c) => c.entity.name)).toEqual(['category', 'product', 'product_category', 'product_translation']);
    expect(qualifies(plan, marks())).toBe(true);
  });

  it('is not one that leaves out a field a new record needs (a stock-only update is looked up first)', () => {
    const partial = { id: product(1).id, stock: 5 };
    expect(qualifies(planOf({ entity: 'product', action: 'upsert', payload: [product(2), partial] }), marks())).toBe(false);
  });

  it('may name records by external id or references by resolver (looked up first, one query per key)', () => {
    const { id: _id, ...withoutId } = product(1);
    const byExternalId = { ...withoutId, externalId: 'ERP-1' };
    expect(qualifies(planOf({ entity: 'product', action: 'upsert', payload: [byExternalId] }), marks())).toBe(true);
    const byResolver = product(2, { taxId: { resolver: 'tax.taxRate', value: 19 } });
    expect(qualifies(planOf({ entity: 'product', action: 'upsert', payload: [byResolver] }), marks())).toBe(true);
  });

  it('is not one in mode create-only, nor a payload record with nothing but its id', () => {
    expect(qualifies(planOf({ entity: 'product', action: 'upsert', mode: 'create-only', payload: [product(1)] }), marks())).toBe(false);
    expect(qualifies(planOf({ entity: 'tax', action: 'upsert', payload: [{ id: TAX }] }), marks())).toBe(false);
  });

  it('counts a record in mode replace as complete: what it leaves out goes back to defaults', () => {
    expect(qualifies(planOf({ entity: 'tax', action: 'upsert', mode: 'replace', payload: [{ id: TAX, name: 'T', taxRate: 7 }] }), marks())).toBe(true);
  });

  it('is not one whose records an active indexer must see before they change (a category tree)', () => {
    expect(qualifies(planOf({ entity: 'product', action: 'upsert', payload: [product(1)] }), marks(true))).toBe(false);
  });

  it('is not a delete', () => {
    expect(qualifies(planOf({ entity: 'product', action: 'delete', payload: [{ id: product(1).id }] }), marks())).toBe(false);
  });
});

describe("a chunk's first table encoded early (while the chunk before is written)", () => {
  const noTarget = () => undefined;
  const early = (cmd: UpsertCommand) => {
    const table = tableInput(cmd, cmd.rows, { target: noTarget, prepared: false });
    return { ...table, cmd, statement: prepareUpsertSet(table.input, true) };
  };

  it('is taken once, by the command it was encoded for: a second try of the chunk encodes its rows again', () => {
    const plan = planOf({ entity: 'product', action: 'upsert', payload: [product(1), product(2)] });
    const cmd = plan.commands[0] as UpsertCommand;
    const table = early(cmd);
    keepEarly(plan, table);
    expect(takeEarly(plan, cmd)).toBe(table);
    expect(takeEarly(plan, cmd)).toBeUndefined();
  });

  it('is not taken by another command of the plan, and is gone after that', () => {
    const plan = planOf({ entity: 'product', action: 'upsert', payload: [product(1)] });
    const [first, second] = plan.commands as UpsertCommand[];
    expect(second).toBeDefined();
    keepEarly(plan, early(first!));
    expect(takeEarly(plan, second!)).toBeUndefined();
    expect(takeEarly(plan, first!)).toBeUndefined();
  });

  it('holds the rows the statement writes, with their keys, references by id alone left out', () => {
    const plan = planOf({ entity: 'product', action: 'upsert', payload: [product(1, { categories: [{ id: CAT }] })] });
    const categories = (plan.commands as UpsertCommand[]).find((c) => c.entity.name === 'category')!;
    const table = tableInput(categories, categories.rows, { target: noTarget, prepared: false });
    expect(table.keys).toHaveLength(1);
    expect(table.writing).toEqual([]);
    expect(table.input.rows).toEqual([]);
  });
});
