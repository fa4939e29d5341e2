import { hexToDbId, isId, toApiId, toDbId, uuidToApi, uuidToDb } from '../../src/definitions/ids';

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

  it('give a repeated value its own spelling, and the next value its own (the last two values are kept)', () => {
    const a = '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b';
    const b = 'b7d2554b0ce847cd82f3ac9bd1c0dfca';
    expect([uuidToDb(a), uuidToDb(a), uuidToDb(b), uuidToDb(a.toUpperCase())]).toEqual([toDbId(a), toDbId(a), toDbId(b), toDbId(a)]);
    expect([uuidToApi(toDbId(b)), uuidToApi(toDbId(b)), uuidToApi(toDbId(a))]).toEqual([b, b, a]);
  });

  it('spell a value that comes back every other time, between values of their own (a foreign key between record ids)', () => {
    const tax = '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b';
    const ids = Array.from({ length: 6 }, (_, i) => `${i}`.repeat(32));
    const sequence = ids.flatMap((id) => [id, tax, tax.toUpperCase()]);
    expect(sequence.map(uuidToDb)).toEqual(sequence.map(toDbId));
    const spelled = sequence.map(toDbId);
    expect(spelled.map(uuidToApi)).toEqual(spelled.map(toApiId));
    // Three values taking turns: each still spelled as itself, whichever two are kept.
    const turns = [ids[0]!, ids[1]!, tax, ids[0]!, tax, ids[1]!, ids[1]!, ids[0]!];
    expect(turns.map(uuidToDb)).toEqual(turns.map(toDbId));
  });
});

describe('hexToDbId (an id as payloads send it, checked and spelled in one pass)', () => {
  const id = '0190a1b2c3d47e5f8a9b0c1d2e3f4a5b';

  it('spells 32 hex characters in either case as toDbId does', () => {
    for (const v of [id, id.toUpperCase(), 'B7D2554B0ce847cd82f3ac9bd1c0dfca', '0'.repeat(32), 'f'.repeat(32), 'F'.repeat(32)]) {
      expect(isId(v)).toBe(true);
      expect(hexToDbId(v)).toBe(toDbId(v));
    }
  });

  it('refuses what isId refuses in that spelling, also characters that become hex digits with bit 0x20 set', () => {
    // 0x10-0x19 | 0x20 are the digits, 0x41-0x46 ('A'-'F') are fine, but '@' (0x40) | 0x20 is '`', 'G' | 0x20 is 'g'.
    for (const bad of ['\u0010', '\u0019', '@', '`', 'G', 'g', '-', ' ', 'é', '\u0130', '\u0141']) {
      const v = bad + id.slice(1);
      expect(isId(v)).toBe(false);
      expect(hexToDbId(v)).toBeUndefined();
      expect(hexToDbId(id.slice(0, 31) + bad)).toBeUndefined();
    }
    for (const v of ['', id.slice(1), id + '0', toDbId(id)]) expect(hexToDbId(v)).toBeUndefined();
  });

  it('checks a value again after another was spelled (the last value kept is not taken for a check)', () => {
    expect(hexToDbId(id)).toBe(toDbId(id));
    expect(hexToDbId('x' + id.slice(1))).toBeUndefined();
    expect(hexToDbId(id)).toBe(toDbId(id));
  });
});

describe('the values kept by uuidToDb and uuidToApi', () => {
  it('is never taken for a value not spelled yet, not even the empty string', () => {
    expect(uuidToDb('')).toBe(toDbId(''));
    expect(uuidToApi('')).toBe(toApiId(''));
  });
});
