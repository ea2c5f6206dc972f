import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, problem, type TestUser } from '../helpers/harness.ts';
import { IMAGES, uploaded } from '../helpers/images.ts';

// API.md section 1: a PATCH with nothing to change is 422 validation_failed, never a 500 or a silent 200.
let h: Harness;
let admin: TestUser;
let alice: TestUser;
let imageName: string;
beforeAll(async () => {
  h = await createHarness();
  admin = await h.createUser({ isAdmin: true });
  alice = await h.createUser();
  imageName = (await uploaded(h, alice.token)).image_name;
});
afterAll(() => h.close());

describe('PATCH with {}', () => {
  it.each([
    ['an own image', () => `${IMAGES}/i/${imageName}`, () => alice.token],
    ['/auth/me', () => '/api/v1/auth/me', () => alice.token],
    ['a user (admin)', () => `/api/v1/users/${alice.user.user_id}`, () => admin.token],
  ])('%s is 422 validation_failed', async (_, path, token) => {
    const res = await h.patch(path(), { token: token(), json: {} });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual(
      problem(res, 'validation_failed', 422, 'Validation failed', 'The request does not match the schema.', [
        { path: '', message: 'the request changes nothing: give at least one field' },
      ]),
    );
    expect(res.headers.get('x-refreshed-token')).toBeNull();
  });

  it('the image is unchanged afterwards', async () => {
    const res = await h.get(`${IMAGES}/i/${imageName}`, { token: alice.token });
    expect(await res.json()).toMatchObject({ image_name: imageName, starred: false, board_id: null });
  });
});
