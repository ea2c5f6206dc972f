import { describe, expect, it } from 'vitest';
import { parseRevocation } from '../../src/channels/revocations.ts';

describe('parseRevocation (the easel_revoke payload)', () => {
  it('reads a session and a user revocation, with and without minEpoch', () => {
    expect(parseRevocation('{"kind":"session","sid":"s1","origin":"p"}')).toEqual({
      kind: 'session',
      sid: 's1',
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
    '"session"',
    '{"kind":"session","sid":"s1"}',
    '{"kind":"session","origin":"p"}',
    '{"kind":"session","sid":7,"origin":"p"}',
    '{"kind":"session","jti":"j1","origin":"p"}',
    '{"kind":"user","origin":"p"}',
    '{"kind":"user","userId":"u1","minEpoch":"3","origin":"p"}',
    '{"kind":"user","userId":"u1","minEpoch":1.5,"origin":"p"}',
    '{"kind":"token","jti":"j1","origin":"p"}',
  ])('ignores %s', (payload) => {
    expect(parseRevocation(payload)).toBeUndefined();
  });
});
