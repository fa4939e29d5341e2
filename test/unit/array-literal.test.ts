import { arrayLiteral } from '../../src/db/array-literal';

describe('array literals', () => {
  it('quote text, escape quotes and backslashes, and spell NULL and booleans as PostgreSQL reads them', () => {
    expect(arrayLiteral(['a', 'say "hi"', 'back\\slash', '', null, 'NULL', '{x,y}'], 'text')).toBe(
      '{"a","say \\"hi\\"","back\\\\slash","",NULL,"NULL","{x,y}"}',
    );
    expect(arrayLiteral([1, -2.5, null], 'double precision')).toBe('{1,-2.5,NULL}');
    expect(arrayLiteral([true, false, null], 'boolean')).toBe('{t,f,NULL}');
    expect(arrayLiteral(['0189bf2a-627a-7296-adbc-83527ba9ac29'], 'uuid')).toBe('{"0189bf2a-627a-7296-adbc-83527ba9ac29"}');
  });
});
