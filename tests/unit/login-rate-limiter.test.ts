import { describe, expect, it } from 'vitest';
import {
  ADDRESS_LIMIT,
  LOGIN_WINDOW_MS,
  LoginRateLimiter,
} from '../../src/services/auth/login-rate-limiter.ts';
import { FakeClock } from '../helpers/harness.ts';

describe('LoginRateLimiter', () => {
  it('blocks a pair after 5 failures in 15 minutes until the oldest leaves the window', () => {
    const clock = new FakeClock();
    const limiter = new LoginRateLimiter(clock);
    const key = LoginRateLimiter.key('A@Example.com ', '1.2.3.4');
    expect(key).toBe(LoginRateLimiter.key('a@example.com', '1.2.3.4'));
    for (let i = 0; i < 4; i++) {
      limiter.fail(key);
      clock.advance(60_000);
    }
    expect(limiter.blockedFor(key)).toBe(0);
    limiter.fail(key);
    expect(limiter.blockedFor(key)).toBe(LOGIN_WINDOW_MS / 1000 - 4 * 60);
    clock.advance(LOGIN_WINDOW_MS - 4 * 60_000);
    expect(limiter.blockedFor(key)).toBe(0);
  });

  it('keeps pairs apart and forgets a pair on success', () => {
    const clock = new FakeClock();
    const limiter = new LoginRateLimiter(clock);
    const a = LoginRateLimiter.key('a@example.com', 'c1');
    const b = LoginRateLimiter.key('a@example.com', 'c2');
    for (let i = 0; i < 5; i++) {
      limiter.fail(a);
    }
    expect(limiter.blockedFor(a)).toBeGreaterThan(0);
    expect(limiter.blockedFor(b)).toBe(0);
    limiter.succeed(a);
    expect(limiter.blockedFor(a)).toBe(0);
    expect(limiter.size).toBe(0);
  });

  it('drops expired entries instead of growing without bound', () => {
    const clock = new FakeClock();
    const limiter = new LoginRateLimiter(clock);
    for (let i = 0; i < 10_001; i++) {
      limiter.fail(LoginRateLimiter.key(`u${i}@example.com`, 'c'));
    }
    clock.advance(LOGIN_WINDOW_MS + 1);
    limiter.fail(LoginRateLimiter.key('last@example.com', 'c'));
    expect(limiter.size).toBe(1);
  });

  it('counts an address under its own key: 30 failures within a minute, whatever the emails', () => {
    const clock = new FakeClock();
    const limiter = new LoginRateLimiter(clock);
    const address = LoginRateLimiter.addressKey('c');
    expect(address).not.toBe(LoginRateLimiter.key('', 'c'));
    for (let i = 1; i <= 30; i++) {
      expect(limiter.fail(address, ADDRESS_LIMIT)).toBe(i);
      clock.advance(1000);
    }
    // The first failure (30 s ago) leaves the minute in 30 s.
    expect(limiter.blockedFor(address, ADDRESS_LIMIT)).toBe(30);
    clock.advance(30_000);
    expect(limiter.blockedFor(address, ADDRESS_LIMIT)).toBe(0);
    expect(limiter.fail(address, ADDRESS_LIMIT)).toBe(30);
  });
});
