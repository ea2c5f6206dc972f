import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  hs256Tokens,
  MAX_IAT_SKEW_S,
  TOKEN_AUDIENCE,
  TOKEN_ISSUER,
  TOKEN_LIFETIME_S,
} from '../../src/services/auth/tokens.ts';
import { FakeClock } from '../helpers/harness.ts';

const secret = new TextEncoder().encode('unit-secret-unit-secret-unit-secret-0123');
const subject = { userId: 'u1', email: 'u1@example.com', isAdmin: false, epoch: 0 };

/** `verify`'s outcome: the claims, or the error's code. */
const outcome = (p: Promise<unknown>) =>
  p.then(
    (claims) => ({ ok: claims }),
    (err: { code?: string }) => ({ code: err.code }),
  );

// hs256Tokens remembers verified token strings: a token used again must be refused exactly when a first
// verification would refuse it (the time-dependent checks are made on every call).
describe('verified-token cache', () => {
  it('gives the same claims the second time, and refuses a token once it has expired', async () => {
    const clock = new FakeClock();
    const tokens = hs256Tokens(secret, clock);
    const { token } = await tokens.issue(subject, false);
    const first = await tokens.verify(token);
    expect(await tokens.verify(token)).toEqual(first);
    clock.advance((TOKEN_LIFETIME_S - 1) * 1000);
    expect(await outcome(tokens.verify(token))).toEqual({ ok: first });
    clock.advance(1000);
    expect(await outcome(tokens.verify(token))).toEqual({ code: 'token_expired' });
    // A fresh service (nothing remembered) says the same.
    expect(await outcome(hs256Tokens(secret, clock).verify(token))).toEqual({ code: 'token_expired' });
  });

  it('refuses a remembered token whose iat is too far ahead once the clock goes back', async () => {
    const clock = new FakeClock();
    const tokens = hs256Tokens(secret, clock);
    const { token } = await tokens.issue(subject, false);
    await tokens.verify(token);
    clock.advance(-(MAX_IAT_SKEW_S + 2) * 1000);
    expect(await outcome(tokens.verify(token))).toEqual({ code: 'unauthorized' });
    expect(await outcome(hs256Tokens(secret, clock).verify(token))).toEqual({ code: 'unauthorized' });
  });

  it('keeps checking a remembered token’s nbf', async () => {
    const clock = new FakeClock();
    const tokens = hs256Tokens(secret, clock);
    const now = Math.floor(clock.now().getTime() / 1000);
    const token = await new SignJWT({
      email: 'u1@example.com',
      is_admin: false,
      remember_me: false,
      epoch: 0,
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('u1')
      .setJti('j1')
      .setIssuedAt(now - 100)
      .setNotBefore(now - 10)
      .setExpirationTime(now + 3600)
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .sign(secret);
    expect(await outcome(tokens.verify(token))).toMatchObject({ ok: { sub: 'u1' } });
    clock.advance(-20_000);
    expect(await outcome(tokens.verify(token))).toEqual({ code: 'unauthorized' });
    expect(await outcome(hs256Tokens(secret, clock).verify(token))).toEqual({ code: 'unauthorized' });
  });

  it('never lets a changed token pass on the strength of a remembered one', async () => {
    const tokens = hs256Tokens(secret, new FakeClock());
    const { token } = await tokens.issue(subject, false);
    await tokens.verify(token);
    const at = token.length - 5;
    const changed = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    expect(await outcome(tokens.verify(changed))).toEqual({ code: 'unauthorized' });
    const other = hs256Tokens(
      new TextEncoder().encode('another-secret-another-secret-0123456'),
      new FakeClock(),
    );
    expect(await outcome(other.verify(token))).toEqual({ code: 'unauthorized' });
  });
});
