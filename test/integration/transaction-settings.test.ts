import { openTransaction, withConnection, withTransaction, type Sql } from '../../src/db/sql';
import { withReadSession } from '../../src/read/session';
import { startTestApp, type TestApp } from '../support/app';

/**
 * Settings every transaction of the service runs with. JIT compilation is off: its threshold is a cost estimate,
 * and the write path's statements over a table without statistics are estimated high enough that PostgreSQL spent
 * 400 ms compiling each chunk's statement that then ran in 80 ms.
 */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const jit = async (sql: Sql) => (await sql.query<{ jit: string }>('SHOW jit')).rows[0]!.jit;

describe('transactions of the service', () => {
  it('run without JIT compilation: the sync endpoint transaction, write transactions and read snapshots', async () => {
    const tx = await openTransaction(t.knex, ['SAVEPOINT s']);
    try {
      expect(await jit(tx.sql)).toBe('off');
    } finally {
      await tx.end(false);
    }
    expect(await withTransaction(t.knex, jit, { retries: 0 })).toBe('off');
    expect(await withReadSession(t.knex, true, jit)).toBe('off');
  });

  it("leave the pooled connection as it was (the setting is the transaction's own)", async () => {
    const before = await withConnection(t.knex, jit);
    await withTransaction(t.knex, jit, { retries: 0 });
    expect(await withConnection(t.knex, jit)).toBe(before);
  });
});
