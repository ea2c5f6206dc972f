import { describe, expect, it } from 'vitest';
import { deviceSettings } from '../../src/node/boot.ts';

describe('deviceSettings (one inference child per DEVICES entry)', () => {
  it('passes the CUDA device id of cuda:N', () => {
    const env = { DEVICES: ['cuda:0', 'cuda:1'], EXECUTION_PROVIDER: 'cpu' as const };
    expect(deviceSettings('cuda:1', env, 8)).toEqual({ executionProvider: 'cuda', deviceId: 1, threads: 0 });
    expect(deviceSettings('cuda:0', env, 8)).toEqual({ executionProvider: 'cuda', deviceId: 0, threads: 0 });
  });

  it('splits the cores between cpu workers, and lets one alone choose', () => {
    const two = { DEVICES: ['cpu', 'cpu', 'cuda:0'], EXECUTION_PROVIDER: 'cpu' as const };
    expect(deviceSettings('cpu', two, 8)).toEqual({ executionProvider: 'cpu', threads: 4 });
    expect(deviceSettings('cpu', { ...two, DEVICES: ['cpu', 'cpu', 'cpu'] }, 2)).toEqual({
      executionProvider: 'cpu',
      threads: 1,
    });
    expect(deviceSettings('cpu', { DEVICES: ['cpu'], EXECUTION_PROVIDER: 'cuda' }, 8)).toEqual({
      executionProvider: 'cuda',
      threads: 0,
    });
  });
});
