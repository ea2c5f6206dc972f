import { describe, expect, it } from 'vitest';
import { auditDetails, auditTarget } from '../../web/lib/audit-text.js';
import { stageLabel } from '../../web/lib/format.js';

// The words the UI shows for a running item (web/lib/format.js) and for audit entries (web/lib/audit-text.js).
describe('web/lib/format.js stageLabel', () => {
  it('names each stage of a run in words, never by its node type', () => {
    expect(stageLabel('main_model_loader')).toBe('Loading model');
    expect(stageLabel('compel')).toBe('Encoding prompt');
    expect(stageLabel('noise')).toBe('Preparing noise');
    expect(stageLabel('i2l')).toBe('Encoding starting image');
    expect(stageLabel('denoise_latents', 12, 20)).toBe('Denoising 12/20');
    expect(stageLabel('denoise_latents')).toBe('Denoising');
    expect(stageLabel('l2i')).toBe('Decoding image');
    expect(stageLabel('some_future_node')).toBe('Working');
  });
});

describe('web/lib/audit-text.js', () => {
  const names = new Map([
    ['u1', 'Alice Example'],
    ['u2', 'Bob Builder'],
  ]);
  const entry = (
    target_type: string | null,
    target_id: string | null,
    details: Record<string, unknown> | null,
  ) => ({
    id: '1',
    at: '',
    actor_user_id: 'u1',
    action: 'user.created' as const,
    target_type,
    target_id,
    details,
  });

  it('names the target: an account by its name, or the email it had; an item by its number', () => {
    expect(auditTarget(entry('user', 'u2', null), names)).toEqual({ text: 'Bob Builder', title: 'user u2' });
    expect(auditTarget(entry('user', 'gone', { email: 'c@x.org' }), names).text).toBe('c@x.org');
    expect(auditTarget(entry('queue_item', '7', null), names).text).toBe('Item #7');
    expect(auditTarget(entry('board', 'b1', { board_name: 'Foxes' }), names).text).toBe('Board Foxes');
    expect(auditTarget(entry(null, null, null), names).text).toBe('—');
  });

  it('writes the details for people: names for user ids, #n for items, yes/no', () => {
    expect(auditDetails(entry('queue_item', '7', { owner_user_id: 'u2' }), names)).toEqual([
      ['owner', 'Bob Builder'],
    ]);
    expect(
      auditDetails(
        entry('queue', 'default', { retried_item_ids: [3], item_ids: [8], tokens_revoked: false }),
        names,
      ),
    ).toEqual([
      ['retried items', '#3'],
      ['new items', '#8'],
      ['sessions ended', 'no'],
    ]);
    expect(auditDetails(entry('board', 'b1', { board_name: 'Foxes', images_deleted: 2 }), names)).toEqual([
      ['images deleted', '2'],
    ]);
  });
});
