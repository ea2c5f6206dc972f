import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderWebConstants, WEB_CONSTANTS_FILE } from '../../scripts/gen-web-constants.ts';
import { AUDIT_ACTIONS, MAX_SEED, QUEUE_STATUSES, SCHEDULERS } from '../../web/lib/constants.js';

describe('web/lib/constants.js', () => {
  it('is what scripts/gen-web-constants.ts renders from the server now (else: npm run gen:web-constants)', async () => {
    expect(await readFile(WEB_CONSTANTS_FILE, 'utf8')).toBe(renderWebConstants());
  });

  it('holds the server values the UI offers', () => {
    expect(QUEUE_STATUSES).toEqual(['pending', 'in_progress', 'completed', 'failed', 'canceled']);
    expect(SCHEDULERS).toContain('euler');
    expect(AUDIT_ACTIONS).toContain('queue.cleared');
    expect(MAX_SEED).toBe(2 ** 32 - 1);
  });
});
