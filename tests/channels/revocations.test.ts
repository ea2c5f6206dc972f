import { describe, expect, it } from 'vitest';
import { parseRevocation } from '../../src/channels/revocations.ts';

describe('parseRevocation (the easel_revoke payload)', () => {
  it('reads a token and a user revocation, with and without minEpoch', () => {
    expect(parseRevocation('{"kind":"token","jti":"j1","origin":"p"}')).toEqual({
      kind: 'token',
      jti: 'j1',
      origin: 'p',
    });
    expect(parseRevocation('{"kind":"user","userId":"u1","origin":"p"}')).toEqual({
      kind: 'user',
      userId: 'u1',
      origin: 'p',
    });
    expect(parseRevocation('{"kind":"user","userId":"u1","minEpoch":3,"origin":"p"}')).toEqual({
      kind: 'user',
      userId: 'u1',
      minEpoch: 3,
      origin: 'p',
    });
  });

  it.each([
    'not json',
    'null',
    '"token"',
    '{"kind":"token","jti":"j1"}',
    '{"kind":"token","origin":"p"}',
    '{"kind":"token","jti":7,"origin":"p"}',
    '{"kind":"user","origin":"p"}',
    '{"kind":"user","userId":"u1","minEpoch":"3","origin":"p"}',
    '{"kind":"user","userId":"u1","minEpoch":1.5,"origin":"p"}',
    '{"kind":"session","sid":"s","origin":"p"}',
  ])('ignores %s', (payload) => {
    expect(parseRevocation(payload)).toBeUndefined();
  });
});
