import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv } from '../../src/env.ts';

describe('parseEnv', () => {
  it('gives the contract defaults', () => {
    expect(parseEnv({})).toEqual({
      PORT: 9090,
      HOST: '127.0.0.1',
      DATA_DIR: './data',
      AUTH_MODE: 'multiuser',
      MODELS_DIR: './models',
      QUEUE_FAIRNESS: 'round_robin',
      QUEUE_MAX_SIZE: 10000,
      USER_MAX_PENDING: 1000,
      EXECUTION_PROVIDER: 'cpu',
      PROGRESS_MAX_HZ: 10,
      PNG_COMPRESSION: 1,
      LOG_LEVEL: 'info',
      BLOB_STORE: 'fs',
      DEVICES: ['cpu'],
      ROLE: 'all',
      LEASE_SECONDS: 30,
    });
  });

  it("parses the cluster variables, and takes the entry's NODE_ID default unless set", () => {
    const env = parseEnv(
      {
        DATABASE_URL: 'postgres://u@db:5432/easel',
        DEVICES: 'cuda:0, cuda:1,cpu',
        ROLE: 'worker',
        LEASE_SECONDS: '5',
      },
      { NODE_ID: 'host-1.42' },
    );
    expect([env.DEVICES, env.ROLE, env.NODE_ID, env.LEASE_SECONDS]).toEqual([
      ['cuda:0', 'cuda:1', 'cpu'],
      'worker',
      'host-1.42',
      5,
    ]);
    expect(parseEnv({ NODE_ID: 'gpu-box' }, { NODE_ID: 'host-1.42' }).NODE_ID).toBe('gpu-box');
    expect(parseEnv({ ROLE: 'api', DATABASE_URL: 'postgres://db/easel' }).ROLE).toBe('api');
  });

  it('parses every variable', () => {
    const env = parseEnv({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATA_DIR: '/var/lib/easel',
      DATABASE_URL: 'postgres://u@db:5432/easel',
      AUTH_MODE: 'single',
      JWT_SECRET: 'x'.repeat(32),
      ADMIN_EMAIL: 'root@example.com',
      ADMIN_PASSWORD: 'password1',
      CORS_ORIGINS: 'http://a.example, https://b.example',
      USER_MAX_PENDING: '5',
      EXECUTION_PROVIDER: 'cuda',
      PROGRESS_MAX_HZ: '2.5',
      PNG_COMPRESSION: '9',
      LOG_LEVEL: 'debug',
      BLOB_STORE: 'postgres',
    });
    expect(env).toMatchObject({
      PORT: 8080,
      AUTH_MODE: 'single',
      USER_MAX_PENDING: 5,
      EXECUTION_PROVIDER: 'cuda',
      PROGRESS_MAX_HZ: 2.5,
      PNG_COMPRESSION: 9,
      LOG_LEVEL: 'debug',
      BLOB_STORE: 'postgres',
    });
    expect(env.CORS_ORIGINS).toEqual(['http://a.example', 'https://b.example']);
  });

  it('treats empty strings as unset', () => {
    expect(parseEnv({ PORT: '', DATABASE_URL: '' }).PORT).toBe(9090);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ AUTH_MODE: 'open' }, 'AUTH_MODE'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET'],
    [{ ADMIN_EMAIL: 'root@example.com' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_EMAIL: 'nope', ADMIN_PASSWORD: 'password1' }, 'ADMIN_EMAIL'],
    [{ CORS_ORIGINS: 'not a url' }, 'CORS_ORIGINS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ USER_MAX_PENDING: '0' }, 'USER_MAX_PENDING'],
    [{ QUEUE_FAIRNESS: 'random' }, 'QUEUE_FAIRNESS'],
    [{ QUEUE_MAX_SIZE: '-1' }, 'QUEUE_MAX_SIZE'],
    [{ EXECUTION_PROVIDER: 'tpu' }, 'EXECUTION_PROVIDER'],
    [{ PROGRESS_MAX_HZ: '0' }, 'PROGRESS_MAX_HZ'],
    [{ PROGRESS_MAX_HZ: 'fast' }, 'PROGRESS_MAX_HZ'],
    [{ PNG_COMPRESSION: '10' }, 'PNG_COMPRESSION'],
    [{ PNG_COMPRESSION: '1.5' }, 'PNG_COMPRESSION'],
    [{ BLOB_STORE: 's3' }, 'BLOB_STORE'],
    [{ DEVICES: 'gpu' }, 'DEVICES'],
    [{ DEVICES: 'cpu,,cuda:0' }, 'DEVICES'],
    [{ DEVICES: 'cuda:x' }, 'DEVICES'],
    [{ ROLE: 'both' }, 'ROLE'],
    [{ ROLE: 'api' }, 'ROLE'],
    [{ ROLE: 'worker' }, 'ROLE'],
    [{ NODE_ID: 'has space' }, 'NODE_ID'],
    [{ LEASE_SECONDS: '4' }, 'LEASE_SECONDS'],
    [{ LEASE_SECONDS: 'long' }, 'LEASE_SECONDS'],
  ])('%o fails naming %s', (source, variable) => {
    expect(() => parseEnv(source)).toThrow(EnvError);
    expect(() => parseEnv(source)).toThrow(new RegExp(`^invalid configuration:\\n  ${variable}: `));
  });

  it('counts JWT_SECRET in UTF-8 bytes', () => {
    expect(() => parseEnv({ JWT_SECRET: 'é'.repeat(15) })).toThrow(/JWT_SECRET/);
    expect(parseEnv({ JWT_SECRET: 'é'.repeat(16) }).JWT_SECRET).toBe('é'.repeat(16));
  });
});
