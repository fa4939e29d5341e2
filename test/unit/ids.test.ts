import { isId, toApiId, toDbId, uuidToApi, uuidToDb } from '../../src/definitions/ids';

describe('id spellings', () => {
  const db = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
  const api = '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b';

  it('turn either accepted spelling, in either case, into the database spelling and back', () => {
    for (const v of [db, api, db.toUpperCase(), api.toUpperCase(), 'B7D2554B0ce847cd82f3ac9bd1c0dfca']) {
      expect(isId(v)).toBe(true);
      const d = toDbId(v);
      expect(d).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(toApiId(d)).toBe(toApiId(v));
      expect(toDbId(d)).toBe(d);
    }
    expect(toDbId(api)).toBe(db);
    expect(toDbId(db.toUpperCase())).toBe(db);
    expect(toApiId(db)).toBe(api);
  });
});

describe('the spellings of a value known to be a UUID (uuidToDb, uuidToApi)', () => {
  const all = '0123456789abcdefABCDEF';
  const random = () => Array.from({ length: 32 }, (_, i) => all[(i * 7 + Math.floor(Math.random() * all.length)) % all.length]).join('');

  it('spell every UUID as toDbId and toApiId do, in either case and either spelling', () => {
    const values = [...Array.from({ length: 200 }, random), '00000000000000000000000000000000', 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF'];
    for (const v of values) {
      expect(uuidToDb(v)).toBe(toDbId(v));
      expect(uuidToApi(toDbId(v))).toBe(toApiId(v));
      // The other spelling as input: handed to the general function.
      expect(uuidToDb(toDbId(v))).toBe(toDbId(v));
      expect(uuidToApi(v)).toBe(toApiId(v));
    }
  });

  it('give a repeated value its own spelling, and the next value its own (the last value is kept)', () => {
    const a = '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b';
    const b = 'b7d2554b0ce847cd82f3ac9bd1c0dfca';
    expect([uuidToDb(a), uuidToDb(a), uuidToDb(b), uuidToDb(a.toUpperCase())]).toEqual([toDbId(a), toDbId(a), toDbId(b), toDbId(a)]);
    expect([uuidToApi(toDbId(b)), uuidToApi(toDbId(b)), uuidToApi(toDbId(a))]).toEqual([b, b, a]);
  });
});
