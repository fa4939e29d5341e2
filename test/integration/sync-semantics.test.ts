import { toDbId as dashed, toApiId as hex } from '../../src/definitions/ids';
import { startTestApp, type TestApp } from '../support/app';
import { count, createTax, sync, storedRows } from '../support/sync';
import { hexId, product, products } from '../fixtures/catalog';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

function customer(n: number, extra: Record<string, unknown> = {}) {
  return { customerNumber: `K-${n}`, email: `k${n}@example.com`, firstName: 'First', lastName: `Last ${n}`, ...extra };
}

describe('external ids', () => {
  it('creates a record by externalId, then finds it again by externalId, answering our ids in payload order', async () => {
    const first = await sync(t.app, { crm: { entity: 'customer', action: 'upsert', payload: [customer(1, { externalId: 'crm-1' }), customer(2, { externalId: 'crm-2' })] } }).expect(200);
    const ids = first.body.data.customer;
    expect(ids).toHaveLength(2);
    const again = await sync(t.app, { crm: { entity: 'customer', action: 'upsert', payload: [{ externalId: 'crm-2', lastName: 'Changed' }, { externalId: 'crm-1', active: false }] } }).expect(200);
    expect(again.body.data.customer).toEqual([ids[1], ids[0]]);
    expect(await count(t.knex, 'customer')).toBe(2);
    expect(await t.knex('customer').where({ external_id: 'crm-2' }).pluck('last_name')).toEqual(['Changed']);
  });

  it('id wins over externalId: re-associates an existing record with a new external id', async () => {
    const id = hexId();
    await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [customer(3, { id, externalId: 'legacy-3' })] } }).expect(200);
    const res = await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [{ id, externalId: 'crm-3' }] } }).expect(200);
    expect(res.body.data.customer).toEqual([id]);
    expect(await t.knex('customer').where({ id: dashed(id) }).pluck('external_id')).toEqual(['crm-3']);
  });

  it('refuses an externalId owned by another record', async () => {
    const id = hexId();
    await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [customer(4, { id })] } }).expect(200);
    const res = await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [{ id, externalId: 'crm-1' }] } }).expect(409);
    expect(res.body.errors[0]).toMatchObject({ code: 'UNIQUE_VIOLATION', source: { pointer: '/c/0/externalId' } });
  });

  it('parallel requests creating the same external ids all succeed, and make one record each', async () => {
    for (let round = 0; round < 5; round++) {
      const body = { c: { entity: 'category', action: 'upsert', payload: [{ externalId: `race-${round}`, name: 'r' }, { externalId: `race-${round}-b`, name: 'b' }] } };
      const answers = await Promise.all(Array.from({ length: 4 }, () => sync(t.app, body)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
      expect(new Set(answers.map((a) => a.body.data.category[0])).size).toBe(1);
      expect(await storedRows(t, 'category').where('external_id', 'like', `race-${round}%`).count()).toEqual([{ count: 2 }]);
    }
    // The same by matchBy on a unique field.
    const body = { c: { entity: 'customer', action: 'upsert', matchBy: ['email'], payload: [customer(77, { email: 'race@example.com' })] } };
    const answers = await Promise.all(Array.from({ length: 4 }, () => sync(t.app, body)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200]);
  });

  it('parallel requests whose records name each other by external id all succeed', async () => {
    for (let round = 0; round < 3; round++) {
      const body = {
        a: {
          entity: 'category',
          action: 'upsert',
          payload: [
            { externalId: `tree-${round}-0`, name: 'root' },
            { externalId: `tree-${round}-1`, name: 'child', parentId: { resolver: 'category.externalId', value: `tree-${round}-0` } },
          ],
        },
      };
      const answers = await Promise.all(Array.from({ length: 6 }, () => sync(t.app, body)));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const child = await storedRows(t, 'category').where({ external_id: `tree-${round}-1` }).first();
      const root = await storedRows(t, 'category').where({ external_id: `tree-${round}-0` }).first();
      expect(child.parent_id).toBe(root.id);
    }
  });

  it('two records of one payload with the same new externalId become one record', async () => {
    const res = await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [customer(5, { externalId: 'dup' }), { externalId: 'dup', lastName: 'Second wins' }] } }).expect(200);
    expect(res.body.data.customer).toHaveLength(1);
    expect(await t.knex('customer').where({ external_id: 'dup' }).pluck('last_name')).toEqual(['Second wins']);
  });
});

describe('write modes', () => {
  it('replace resets fields that are not sent', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 1, { description: 'old text', ean: '123', active: false });
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const { description: _d, ean: _e, active: _a, ...rest } = p;
    await sync(t.app, { p: { entity: 'product', action: 'upsert', mode: 'replace', payload: [{ ...rest, name: 'Replaced' }] } }).expect(200);
    const row = await storedRows(t, 'product').where({ id: dashed(p.id as string) }).first();
    expect(row).toMatchObject({ name: 'Replaced', description: null, ean: null, active: true });
  });

  it('replace needs every required field, for existing records too', async () => {
    const taxId = await createTax(t.app);
    const p = product(taxId, 2);
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [p] } }).expect(200);
    const res = await sync(t.app, { p: { entity: 'product', action: 'upsert', mode: 'replace', payload: [{ id: p.id, stock: 1 }] } }).expect(400);
    expect(res.body.errors.map((e: { source: { pointer: string } }) => e.source.pointer).sort()).toEqual(['/p/0/name', '/p/0/price', '/p/0/productNumber', '/p/0/taxId']);
  });

  it('create-only creates the missing, leaves existing records untouched and lists them under skipped', async () => {
    const existing = hexId();
    await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [customer(10, { id: existing, firstName: 'Edited here' })] } }).expect(200);
    const res = await sync(t.app, {
      pos: { entity: 'customer', action: 'upsert', mode: 'create-only', payload: [customer(10, { id: existing, firstName: 'From POS' }), customer(11)] },
    }).expect(200);
    expect(res.body.skipped).toEqual({ customer: [existing] });
    expect(res.body.data.customer).toHaveLength(1);
    expect(await t.knex('customer').where({ id: dashed(existing) }).pluck('first_name')).toEqual(['Edited here']);
    expect(await t.knex('customer').where({ customer_number: 'K-11' })).toHaveLength(1);
  });

  it('create-only leaves what is nested in a skipped record alone (no new addresses on an existing customer)', async () => {
    const countryId = hexId();
    await sync(t.app, { c: { entity: 'country', action: 'upsert', payload: [{ id: countryId, name: 'Nowhere', iso: 'NW' }] } }).expect(200);
    const existing = hexId();
    await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [customer(13, { id: existing, email: 'nested@example.com' })] } }).expect(200);
    const address = { street: 'New street', city: 'C', countryId };
    for (let round = 0; round < 2; round++) {
      const res = await sync(t.app, {
        c: {
          entity: 'customer',
          action: 'upsert',
          mode: 'create-only',
          matchBy: ['email'],
          payload: [
            { ...customer(13, { email: 'nested@example.com' }), addresses: [address] },
            { ...customer(14), addresses: [address] },
          ],
        },
      }).expect(200);
      expect(res.body.skipped.customer).toContain(existing);
    }
    expect(await t.knex('customer_address').where({ customer_id: dashed(existing) })).toHaveLength(0);
    const created = await t.knex('customer').where({ customer_number: 'K-14' }).first();
    expect(await t.knex('customer_address').where({ customer_id: created.id })).toHaveLength(1);
  });

  it('create-only leaves the subcategories of a skipped category alone, and keeps reporting skipped in partial mode', async () => {
    const [r, k1, k2, k3] = [hexId(), hexId(), hexId(), hexId()];
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: [{ id: r, name: 'root', children: [{ id: k1, name: 'k1' }] }] } }).expect(200);
    const res = await sync(t.app, {
      c: { entity: 'category', action: 'upsert', mode: 'create-only', payload: [{ id: r, name: 'root2', children: [{ id: k1, name: 'renamed' }, { id: k2, name: 'k2', children: [{ id: k3, name: 'k3' }] }] }] },
    }).expect(200);
    expect(res.body.data).toEqual([]);
    expect(res.body.skipped.category).toContain(r);
    expect(await storedRows(t, 'category').whereIn('id', [dashed(k2), dashed(k3)])).toHaveLength(0);
    expect(await storedRows(t, 'category').where({ id: dashed(k1) }).pluck('name')).toEqual(['k1']);

    const existing = hexId();
    await sync(t.app, { c: { entity: 'customer', action: 'upsert', payload: [customer(90, { id: existing })] } }).expect(200);
    const partial = await sync(
      t.app,
      {
        c: {
          entity: 'customer',
          action: 'upsert',
          mode: 'create-only',
          payload: [{ id: existing, firstName: 'X' }, { ...customer(91), addresses: [{ street: 'a', city: 'c', countryId: hexId() }] }],
        },
      },
      { 'fail-on-error': 'false' },
    ).expect(200);
    expect(partial.body.skipped).toEqual({ customer: [existing] });
    expect(partial.body.errors[0]).toMatchObject({ code: 'FK_NOT_FOUND', source: { pointer: '/c/1/addresses/0/countryId' } });
  });

  it('create-only with nothing existing still answers skipped as an empty list', async () => {
    const res = await sync(t.app, { pos: { entity: 'customer', action: 'upsert', mode: 'create-only', payload: [customer(12)] } }).expect(200);
    expect(res.body.skipped).toEqual([]);
  });

  it('matchBy finds existing records by email, then by customer number', async () => {
    const byEmail = hexId();
    const byNumber = hexId();
    await sync(t.app, {
      c: { entity: 'customer', action: 'upsert', payload: [customer(20, { id: byEmail, email: 'match@example.com' }), customer(21, { id: byNumber, customerNumber: 'ACC-21' })] },
    }).expect(200);
    const res = await sync(t.app, {
      acc: {
        entity: 'customer',
        action: 'upsert',
        mode: 'create-only',
        matchBy: ['email', 'customerNumber'],
        payload: [
          { email: 'match@example.com', customerNumber: 'ACC-X', firstName: 'A', lastName: 'B' },
          { email: 'other@example.com', customerNumber: 'ACC-21', firstName: 'A', lastName: 'B' },
          { email: 'new@example.com', customerNumber: 'ACC-NEW', firstName: 'N', lastName: 'N' },
        ],
      },
    }).expect(200);
    expect(res.body.skipped).toEqual({ customer: [byEmail, byNumber] });
    expect(res.body.data.customer).toHaveLength(1);
    expect(await t.knex('customer').where({ customer_number: 'ACC-NEW' })).toHaveLength(1);
  });

  it('refuses matchBy on a field that is not unique', async () => {
    const res = await sync(t.app, { acc: { entity: 'customer', action: 'upsert', matchBy: ['lastName'], payload: [] } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'OPERATION_INVALID', source: { pointer: '/acc/matchBy/0' } });
  });
});

describe('missing (snapshot clear)', () => {
  it('sets stock = 0 only on the unsent records inside within', async () => {
    const taxA = await createTax(t.app, 'A');
    const taxB = await createTax(t.app, 'B');
    const inside = products(taxA, 10, 100);
    const outside = products(taxB, 3, 200);
    await sync(t.app, { seed: { entity: 'product', action: 'upsert', payload: [...inside, ...outside].map((p) => ({ ...p, stock: 5 })) } }).expect(200);
    const sent = inside.slice(0, 7).map((p) => ({ id: p.id, stock: 9 }));
    const res = await sync(t.app, {
      snapshot: { entity: 'product', action: 'upsert', payload: sent, missing: { within: [{ type: 'equals', field: 'taxId', value: taxA }], set: { stock: 0 } } },
    }).expect(200);
    const cleared = inside.slice(7).map((p) => p.id);
    expect(res.body.data.product.slice(0, 7)).toEqual(sent.map((p) => p.id));
    expect(res.body.data.product.slice(7).sort()).toEqual([...cleared].sort());
    const rows = await storedRows(t, 'product').whereIn('id', [...inside, ...outside].map((p) => dashed(p.id as string))).select('id', 'stock');
    const stock = new Map(rows.map((r: { id: string; stock: number }) => [hex(r.id), r.stock]));
    for (const p of inside.slice(0, 7)) expect(stock.get(p.id as string)).toBe(9);
    for (const id of cleared) expect(stock.get(id as string)).toBe(0);
    for (const p of outside) expect(stock.get(p.id as string)).toBe(5);
  });

  it('deletes the unsent records with delete: true and reports them', async () => {
    const cats = Array.from({ length: 4 }, (_, i) => ({ id: hexId(), name: `snap ${i}`, externalId: `snap-${i}` }));
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: cats } }).expect(200);
    const res = await sync(t.app, {
      c: { entity: 'category', action: 'upsert', payload: [{ externalId: 'snap-0', name: 'kept' }], missing: { within: [{ type: 'prefix', field: 'externalId', value: 'snap-' }], delete: true, force: true } },
    }).expect(200);
    expect(res.body.data.category).toEqual([cats[0]!.id]);
    expect(res.body.deleted.category.sort()).toEqual(cats.slice(1).map((c) => c.id).sort());
  });

  it('names the field when missing.set breaks a unique key', async () => {
    const cats = [hexId(), hexId()];
    await sync(t.app, { c: { entity: 'category', action: 'upsert', payload: cats.map((id, i) => ({ id, name: `u${i}`, externalId: `uniq-${i}` })) } }).expect(200);
    const res = await sync(t.app, {
      c: { entity: 'category', action: 'upsert', payload: [], missing: { within: [{ type: 'prefix', field: 'externalId', value: 'uniq-' }], set: { externalId: 'same' }, force: true } },
    }).expect(409);
    expect(res.body.errors[0]).toMatchObject({ code: 'UNIQUE_VIOLATION', source: { pointer: '/c/missing/set/externalId' } });
    expect(res.body.errors[0].detail).toContain('externalId');
    expect(res.body.errors[0].detail).not.toContain('external_id');
  });

  it('validates missing.set like a record', async () => {
    const res = await sync(t.app, { s: { entity: 'product', action: 'upsert', payload: [], missing: { within: [{ type: 'equals', field: 'active', value: true }], set: { stock: -1 } } } }).expect(400);
    expect(res.body.errors[0]).toMatchObject({ code: 'VALUE_INVALID', source: { pointer: '/s/missing/set/stock' } });
  });
});

describe('fail-on-error: false', () => {
  it('1,000 records with 3 invalid: 997 written, 3 errors with pointers, x-sync-errors: 3', async () => {
    const taxId = await createTax(t.app);
    const payload = products(taxId, 1000, 5000);
    payload[10]!.stock = -5; // invalid at planning
    payload[500]!.taxId = hexId(); // unknown tax: found by the lookups
    payload[900]!.productNumber = 'SW-5001'; // the number of record 1: unique violation
    const before = await count(t.knex, 'product');
    const res = await sync(t.app, { import: { entity: 'product', action: 'upsert', payload } }, { 'fail-on-error': 'false' }).expect(200);
    expect(res.headers['x-sync-errors']).toBe('3');
    expect(res.body.errors.map((e: { source: { pointer: string } }) => e.source.pointer).sort()).toEqual(['/import/10/stock', '/import/500/taxId', '/import/900/productNumber'].sort());
    expect(res.body.data.product).toHaveLength(997);
    expect(await count(t.knex, 'product')).toBe(before + 997);
  });

  it('the same under the default writes nothing', async () => {
    const taxId = await createTax(t.app);
    const payload = products(taxId, 1000, 7000);
    payload[10]!.stock = -5;
    payload[500]!.taxId = hexId();
    payload[900]!.productNumber = 'SW-7001';
    const before = await count(t.knex, 'product');
    const res = await sync(t.app, { import: { entity: 'product', action: 'upsert', payload } }).expect(400);
    expect(res.headers['x-sync-errors']).toBeUndefined();
    expect(res.body.errors.length).toBeGreaterThanOrEqual(1);
    expect(await count(t.knex, 'product')).toBe(before);
  });

  it('a failing nested record takes its whole root record with it, and nothing else', async () => {
    const groupOk = hexId();
    const groupBad = hexId();
    const res = await sync(
      t.app,
      {
        g: {
          entity: 'property_group',
          action: 'upsert',
          payload: [
            { id: groupOk, name: 'ok', options: [{ name: 'a' }] },
            { id: groupBad, name: 'bad', options: [{ name: 'a' }, { name: 'b', colorHexCode: 'not a colour' }] },
          ],
        },
      },
      { 'fail-on-error': 'false' },
    ).expect(200);
    expect(res.headers['x-sync-errors']).toBe('1');
    expect(res.body.errors[0].source.pointer).toBe('/g/1/options/1/colorHexCode');
    expect(await storedRows(t, 'property_group').whereIn('id', [dashed(groupOk), dashed(groupBad)]).pluck('name')).toEqual(['ok']);
    expect(await storedRows(t, 'property_group_option').where({ group_id: dashed(groupBad) })).toHaveLength(0);
  });

  it('answers x-sync-errors: 0 when everything was written', async () => {
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [{ name: 'fine', taxRate: 1 }] } }, { 'fail-on-error': 'false' }).expect(200);
    expect(res.headers['x-sync-errors']).toBe('0');
    expect(res.body.errors).toEqual([]);
  });

  it('skips a blocked delete and deletes the rest', async () => {
    const used = await createTax(t.app, 'used');
    const free = await createTax(t.app, 'free');
    await sync(t.app, { p: { entity: 'product', action: 'upsert', payload: [product(used, 9000)] } }).expect(200);
    const res = await sync(t.app, { d: { entity: 'tax', action: 'delete', payload: [{ id: used }, { id: free }] } }, { 'fail-on-error': 'false' }).expect(200);
    expect(res.body.deleted).toEqual({ tax: [free] });
    expect(res.body.errors[0]).toMatchObject({ code: 'FK_RESTRICT', source: { pointer: '/d/0' } });
  });

  it('does not clear anything when a record of a snapshot failed (it cannot tell unsent from failed)', async () => {
    const m = hexId();
    const taxId = await createTax(t.app);
    const snap = [1, 2, 3].map((n) => product(taxId, 9100 + n, { externalId: `snap-${n}`, manufacturerId: m, stock: 5 }));
    await sync(t.app, { m: { entity: 'product_manufacturer', action: 'upsert', payload: [{ id: m, name: 'Snapshot maker' }] }, p: { entity: 'product', action: 'upsert', payload: snap } }).expect(200);
    for (const bad of [{ externalId: 'snap-1', stock: -1 }, { externalId: 'snap-1', taxId: hexId() }]) {
      const res = await sync(
        t.app,
        { inv: { entity: 'product', action: 'upsert', payload: [bad, { externalId: 'snap-2', stock: 3 }], missing: { within: [{ type: 'equals', field: 'manufacturerId', value: m }], delete: true } } },
        { 'fail-on-error': 'false' },
      ).expect(200);
      expect(res.body.deleted).toEqual([]);
      expect(res.body.errors.map((e: { code: string }) => e.code)).toEqual([expect.stringMatching(/VALUE_INVALID|FK_NOT_FOUND/), 'MISSING_SKIPPED']);
      expect(res.body.errors[1].source.pointer).toBe('/inv/missing');
      expect(res.headers['x-sync-errors']).toBe('2');
      expect(await storedRows(t, 'product').whereIn('external_id', ['snap-1', 'snap-2', 'snap-3']).count()).toEqual([{ count: 3 }]);
    }
    // Without failures the same snapshot clears as usual.
    const ok = await sync(
      t.app,
      { inv: { entity: 'product', action: 'upsert', payload: [{ externalId: 'snap-1', stock: 1 }, { externalId: 'snap-2', stock: 3 }], missing: { within: [{ type: 'equals', field: 'manufacturerId', value: m }], delete: true } } },
      { 'fail-on-error': 'false' },
    ).expect(200);
    expect(ok.body.deleted.product).toEqual([snap[2]!.id]);
  });

  it('refuses another value of the header', async () => {
    const res = await sync(t.app, { t: { entity: 'tax', action: 'upsert', payload: [] } }, { 'fail-on-error': 'maybe' }).expect(400);
    expect(res.body.errors[0].code).toBe('HEADER_INVALID');
  });
});
