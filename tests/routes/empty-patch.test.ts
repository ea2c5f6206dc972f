import { describe, expect } from 'vitest';
import { type Fixtures, test as fileTest } from '../helpers/fixtures.ts';
import { problem } from '../helpers/harness.ts';
import { IMAGES, uploaded } from '../helpers/images.ts';

// API.md section 1: a PATCH with nothing to change is 422 validation_failed, never a 500 or a silent 200.
/** The file's test API with `imageName`, an image of Alice's (made after the admin and Alice). */
const test = fileTest.extend(
  'imageName',
  { scope: 'file' },
  async ({ h, admin: _admin, alice }) => (await uploaded(h, alice.token)).image_name,
);
const it = test;

/** What a case of the table reads from the file's fixtures. */
type Made = Pick<Fixtures, 'alice' | 'admin'> & { imageName: string };

describe('PATCH with {}', () => {
  it.for([
    ['an own image', (m: Made) => `${IMAGES}/i/${m.imageName}`, (m: Made) => m.alice.token],
    ['/auth/me', () => '/api/v1/auth/me', (m: Made) => m.alice.token],
    ['a user (admin)', (m: Made) => `/api/v1/users/${m.alice.user.user_id}`, (m: Made) => m.admin.token],
  ] as const)('%s is 422 validation_failed', async ([_, path, token], { h, alice, admin, imageName }) => {
    const made = { alice, admin, imageName };
    const res = await h.patch(path(made), { token: token(made), json: {} });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(
      problem(res, 'validation_failed', 422, 'Validation failed', 'The request does not match the schema.', [
        { path: '', message: 'the request changes nothing: give at least one field' },
      ]),
    );
    expect(res.headers.get('x-refreshed-token')).toBeNull();
  });

  it('the image is unchanged afterwards', async ({ h, alice, imageName }) => {
    const res = await h.get(`${IMAGES}/i/${imageName}`, { token: alice.token });
    expect(await res.json()).toMatchObject({ image_name: imageName, starred: false, board_id: null });
  });
});
