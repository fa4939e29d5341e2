import { startTestApp, type TestApp } from '../support/app';
import { sync } from '../support/sync';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** The request, response and error examples of the sync contract (the write API's design), sent as they are written there. */
describe('the contract examples', () => {
  it('runs the request example (upsert + delete by criteria) and answers in the response shape', async () => {
    const res = await sync(t.app, {
      'write-tax': { entity: 'tax', action: 'upsert', payload: [{ name: 'tax-1', taxRate: 16 }] },
      'drop-links': {
        entity: 'product_category',
        action: 'delete',
        criteria: [{ type: 'equals', field: 'productId', value: '2fbb5fe2e29a4d70aa5854ce7ce3e20b' }],
      },
    }).expect(200);
    expect(res.body).toEqual({ extensions: [], data: { tax: [expect.stringMatching(/^[0-9a-f]{32}$/)] }, notFound: [], deleted: [] });
    expect(await t.knex('tax').where({ name: 'tax-1' }).pluck('tax_rate')).toEqual([16]);
  });

  it('runs the list form with default keys', async () => {
    const res = await sync(t.app, [{ entity: 'tax', action: 'upsert', payload: [{ name: 'tax-2', taxRate: 7 }] }]).expect(200);
    expect(res.body.data.tax).toHaveLength(1);
  });

  it('answers the error example exactly', async () => {
    const res = await sync(t.app, {
      'write-tax': { entity: 'tax', action: 'upsert', payload: [{ name: 'ok', taxRate: 1 }, { name: 'bad', taxRate: 'abc' }] },
    }).expect(400);
    expect(res.body).toEqual({
      errors: [
        {
          status: '400',
          code: 'VALUE_INVALID',
          title: 'Invalid value',
          detail: 'taxRate: expected a number between 0 and 100, got "abc"',
          source: { pointer: '/write-tax/1/taxRate' },
          meta: { operation: 'write-tax', entity: 'tax', index: 1 },
        },
      ],
    });
    expect(await t.knex('tax').where({ name: 'ok' })).toHaveLength(0);
  });
});
