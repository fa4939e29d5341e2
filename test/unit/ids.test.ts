import { isId, toApiId, toDbId } from '../../src/definitions/ids';

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
