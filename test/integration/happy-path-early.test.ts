import { withTransaction, type Sql } from '../../src/db/sql';
import { IndexMarks } from '../../src/indexing/marks';
import { writeChecked } from '../../src/sync/commit/happy-path';
import { RequestKeys } from '../../src/sync/commit/resolve';
import { RequestState, type OperationState } from '../../src/sync/commit/state';
import { keepEarly, takeEarly } from '../../src/sync/commit/table-input';
import type { OperationPlan, UpsertCommand } from '../../src/sync/types';
import { hexId, products } from '../fixtures/catalog';
import { startTestApp, type TestApp } from '../support/app';
import { planBody } from '../support/plan-body';
import { createTax, storedRows } from '../support/sync';

/**
 * A chunk's first table encoded while PostgreSQL runs the last statement of the chunk before (happy-path.ts,
 * prepareEarly): chunks written one after another in one transaction, as the request's executor writes them, with the
 * plan of the next chunk at hand. Whether the next chunk is planned in time depends on the request's timing, so the
 * chunks are given here directly.
 */
let t: TestApp;
let taxId: string;
beforeAll(async () => {
  t = await startTestApp();
  taxId = await createTax(t.app);
});
afterAll(() => t.close());

function planOf(payload: Record<string, unknown>[]): OperationPlan {
  // Planning lets go of each record it planned (the list is emptied): it gets a copy.
  const planned = planBody({ p: { entity: 'product', action: 'upsert', payload: [...payload] } }, t.registry);
  if (planned.problems) throw new Error(JSON.stringify(planned.problems));
  return planned.plans[0]!;
}

function runOf(sql: Sql, upcoming?: () => OperationPlan | undefined) {
  // Indexing disabled: no indexer needs to read a record before it changes.
  const known = new RequestState(new RequestKeys(), new IndexMarks(t.indexers, new Set(t.indexers.names())));
  const op: OperationState = { named: new Set(), skipped: new Set(), failed: 0, deferred: [] };
  return { sql, registry: t.registry, known, op, upcoming };
}

const tx = <T>(fn: (sql: Sql) => Promise<T>) => withTransaction(t.knex, fn, { retries: 0 });

/** Takes the plan's early table (it must be there) and puts it back counting how often its statement is sent. */
function watchEarly(plan: OperationPlan): { sent: number; rows: number } {
  const table = takeEarly(plan, plan.commands[0] as UpsertCommand);
  if (!table) throw new Error('the first table of the next chunk was not encoded');
  const seen = { sent: 0, rows: table.input.rows.length };
  keepEarly(plan, {
    ...table,
    statement: {
      send: (sql) => {
        seen.sent++;
        return table.statement.send(sql);
      },
    },
  });
  return seen;
}

describe("a chunk's first table encoded while the chunk before is written", () => {
  it('is encoded during the last statement of the chunk before, and writes the rows as sent', async () => {
    const first = products(taxId, 1_200, 900_000);
    const second: Record<string, unknown>[] = products(taxId, 1_200, 910_000).map((p) => ({ ...p, stock: 42 }));
    const [plan1, plan2] = [planOf(first), planOf(second)];
    const lead = plan2.commands[0] as UpsertCommand;
    const answer = await tx(async (sql) => {
      const one = await writeChecked(runOf(sql, () => plan2), plan1);
      expect(one.result).toBeDefined();
      // The product rows of the next chunk, encoded; its own write sends that statement, once, and takes it.
      const early = watchEarly(plan2);
      expect(early.rows).toBe(1_200);
      const two = await writeChecked(runOf(sql), plan2);
      expect(early.sent).toBe(1);
      expect(takeEarly(plan2, lead)).toBeUndefined();
      return two;
    });
    expect(answer.tries).toBe(1);
    expect(answer.result?.toJSON()).toMatchObject({ data: { product: second.map((p) => p.id) } });
    const stored = await storedRows(t, 'product').whereIn('id', second.map((p) => p.id as string)).where({ stock: 42 }).count();
    expect(stored).toEqual([{ count: 1_200 }]);
  });

  it('that fails its check sends the chunk back to its savepoint, the chunk before stays written', async () => {
    const first = products(taxId, 1_200, 920_000);
    const second = products(taxId, 1_200, 930_000);
    second[77] = { ...second[77], taxId: hexId() };
    const [plan1, plan2] = [planOf(first), planOf(second)];
    await tx(async (sql) => {
      expect((await writeChecked(runOf(sql, () => plan2), plan1)).result).toBeDefined();
      const early = watchEarly(plan2);
      const two = await writeChecked(runOf(sql), plan2);
      expect(early.sent).toBe(1);
      // No result: the caller diagnoses the chunk (and names the record), from what the savepoint left.
      expect(two.result).toBeUndefined();
    });
    expect(await storedRows(t, 'product').whereIn('id', first.map((p) => p.id as string)).count()).toEqual([{ count: 1_200 }]);
    expect(await storedRows(t, 'product').whereIn('id', second.map((p) => p.id as string)).count()).toEqual([{ count: 0 }]);
  });
});
