import { eq } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { images } from '../../src/db/schema/index.ts';
import type { ImageDTO } from '../../src/images/schemas.ts';
import { createHarness, expectProblem } from '../helpers/harness.ts';
import { it, NEED_AUTH, notFound, OWNER_GONE, test } from '../helpers/image-routes.ts';
import { generated, IMAGES, uploaded, withQuery } from '../helpers/images.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

describe('signed URLs', () => {
  let image: ImageDTO;
  test.beforeAll(async ({ h, alice }) => {
    image = await generated(h, alice.user.user_id);
  });

  it('open the file without a token, with private caching until they expire', async ({ h }) => {
    for (const url of [image.image_url, image.thumbnail_url]) {
      const res = await h.get(url);
      expect(res.status).toBe(200);
      const exp = Number(new URL(url, 'http://x').searchParams.get('exp'));
      const left = exp - Math.floor(h.clock.now().getTime() / 1000);
      expect(left).toBeGreaterThanOrEqual(3600);
      expect(res.headers.get('cache-control')).toBe('private, max-age=3600, immutable');
      expect(res.headers.get('x-refreshed-token')).toBeNull();
    }
  });

  it('a tampered signature, another image’s or variant’s signature, or a missing one is 401', async ({
    h,
    alice,
  }) => {
    const other = await generated(h, alice.user.user_id);
    const sig = new URL(image.image_url, 'http://x').searchParams.get('sig') ?? '';
    const flipped = `${sig.startsWith('A') ? 'B' : 'A'}${sig.slice(1)}`;
    const urls = [
      withQuery(image.image_url, { sig: flipped }),
      withQuery(image.image_url, {
        exp: String(Number(new URL(image.image_url, 'http://x').searchParams.get('exp')) + 600),
      }),
      withQuery(other.image_url, { sig }),
      `${IMAGES}/i/${image.image_name}/thumbnail?${new URL(image.image_url, 'http://x').searchParams}`,
      `${IMAGES}/i/${image.image_name}/full`,
      withQuery(image.image_url, { exp: 'soon' }),
    ];
    for (const url of urls) {
      const res = await h.get(url);
      await expectProblem(res, 'unauthorized', 401, 'Unauthorized', NEED_AUTH);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('an expired signature is 401, but a token still opens the file', async ({ h, alice }) => {
    const fresh = await generated(h, alice.user.user_id);
    h.clock.advance(2 * 3600 * 1000);
    const res = await h.get(fresh.image_url);
    await expectProblem(res, 'unauthorized', 401, 'Unauthorized', 'The signed URL has expired.');
    expect((await h.get(fresh.image_url, { token: alice.token })).status).toBe(200);
    const again = await h.get(`${IMAGES}/i/${fresh.image_name}`, { token: alice.token });
    const renewed: ImageDTO = await again.json();
    expect(renewed.image_url).not.toBe(fresh.image_url);
    expect((await h.get(renewed.image_url)).status).toBe(200);
  });

  it('with a token: the owner and admins get the file unsigned; another user gets 404', async ({
    h,
    alice,
    bob,
    admin,
  }) => {
    const path = `${IMAGES}/i/${image.image_name}/full`;
    expect((await h.get(path, { token: alice.token })).status).toBe(200);
    expect((await h.get(path, { token: admin.token })).status).toBe(200);
    await notFound(await h.get(path, { token: bob.token }), image.image_name);
    await notFound(
      await h.get(withQuery(image.image_url, { sig: 'x' }), { token: bob.token }),
      image.image_name,
    );
    const bad = await h.get(path, { token: 'not-a-token' });
    expect(bad.status).toBe(401);
  });

  it("stop working once the owner is deactivated or deleted, before they expire; an admin's token still opens the file", async ({
    onTestFinished,
  }) => {
    const own = await createHarness({ onTestFinished });
    const [chief, other] = [await own.createUser({ isAdmin: true }), await own.createUser()];
    for (const change of ['deactivate', 'delete'] as const) {
      const owner = await own.createUser();
      const mine = await generated(own, owner.user.user_id);
      expect((await own.get(mine.thumbnail_url)).status).toBe(200);
      const path = `/api/v1/users/${owner.user.user_id}`;
      const res =
        change === 'deactivate'
          ? await own.patch(path, { token: chief.token, json: { is_active: false } })
          : await own.delete(path, { token: chief.token });
      expect(res.status).toBe(change === 'deactivate' ? 200 : 204);
      for (const url of [mine.image_url, mine.thumbnail_url]) {
        await expectProblem(await own.get(url), 'unauthorized', 401, 'Unauthorized', OWNER_GONE);
        expect((await own.get(url, { token: chief.token })).status).toBe(200);
        await notFound(await own.get(url, { token: other.token }), mine.image_name);
      }
    }
  });

  it('an unknown image is 404 with a token, 401 without', async ({ h, alice }) => {
    await notFound(await h.get(`${IMAGES}/i/nope.png/full`, { token: alice.token }), 'nope.png');
    expect((await h.get(`${IMAGES}/i/nope.png/full`)).status).toBe(401);
  });
});

describe('isolation', () => {
  let image: ImageDTO;
  test.beforeAll(async ({ h, alice }) => {
    image = await uploaded(h, alice.token);
  });

  it('another user gets 404 for get, full, thumbnail, patch and delete; nothing changes', async ({
    h,
    bob,
  }) => {
    const name = image.image_name;
    await notFound(await h.get(`${IMAGES}/i/${name}`, { token: bob.token }), name);
    await notFound(await h.get(`${IMAGES}/i/${name}/full`, { token: bob.token }), name);
    await notFound(await h.get(`${IMAGES}/i/${name}/thumbnail`, { token: bob.token }), name);
    await notFound(await h.patch(`${IMAGES}/i/${name}`, { token: bob.token, json: { starred: true } }), name);
    await notFound(await h.delete(`${IMAGES}/i/${name}`, { token: bob.token }), name);
    const [row] = await h.db.select().from(images).where(eq(images.imageName, name));
    expect(row?.starred).toBe(false);
  });

  it('another user never sees it in lists', async ({ h, alice, bob }) => {
    const bobImage = await uploaded(h, bob.token);
    const res = await h.get(IMAGES, { token: bob.token });
    const body = await res.json();
    expect(body.items.map((i: ImageDTO) => i.image_name)).toEqual([bobImage.image_name]);
    expect(body.total).toBe(1);
    const forbidden = await h.get(`${IMAGES}?user_id=${alice.user.user_id}`, { token: bob.token });
    await expectProblem(
      forbidden,
      'forbidden',
      403,
      'Forbidden',
      "Only admins may list another user's images and boards.",
    );
    expect((await h.get(`${IMAGES}?user_id=all`, { token: bob.token })).status).toBe(403);
    expect((await h.get(`${IMAGES}?user_id=${bob.user.user_id}`, { token: bob.token })).status).toBe(200);
  });

  it('an admin reads, lists and changes any image', async ({ h, alice, bob, admin }) => {
    const name = image.image_name;
    expect(await (await h.get(`${IMAGES}/i/${name}`, { token: admin.token })).json()).toEqual({
      ...image,
      image_url: expect.any(String),
      thumbnail_url: expect.any(String),
    });
    const listed = await (
      await h.get(`${IMAGES}?user_id=${alice.user.user_id}&limit=200`, { token: admin.token })
    ).json();
    expect(listed.items.map((i: ImageDTO) => i.image_name)).toContain(name);
    const all = await (await h.get(`${IMAGES}?user_id=all&limit=200`, { token: admin.token })).json();
    expect(new Set(all.items.map((i: ImageDTO) => i.user_id))).toEqual(
      new Set([alice.user.user_id, bob.user.user_id]),
    );
    const own = await (await h.get(IMAGES, { token: admin.token })).json();
    expect(own).toEqual({ items: [], offset: 0, limit: 50, total: 0 });
    const patched = await h.patch(`${IMAGES}/i/${name}`, { token: admin.token, json: { starred: true } });
    expect((await patched.json()).starred).toBe(true);
  });

  it('without a token every image route is 401', async ({ h }) => {
    for (const res of [
      await h.get(IMAGES),
      await h.get(`${IMAGES}/i/${image.image_name}`),
      await h.patch(`${IMAGES}/i/${image.image_name}`, { json: { starred: true } }),
      await h.delete(`${IMAGES}/i/${image.image_name}`),
    ]) {
      await expectProblem(res, 'unauthorized', 401, 'Unauthorized', 'A bearer token is required.');
    }
  });
});

runCommonAuthTests(test, 'GET /api/v1/images/i/{image_name}', {
  prepareRequest: async (h, owner) => {
    const { image_name } = await uploaded(h, owner.token);
    return {
      method: 'GET',
      path: `${IMAGES}/i/${image_name}`,
      expectNotFound: (res) => notFound(res, image_name),
      adminStatus: 200,
    };
  },
});

runCommonAuthTests(test, 'PATCH /api/v1/images/i/{image_name}', {
  prepareRequest: async (h, owner) => {
    const { image_name } = await uploaded(h, owner.token);
    return {
      method: 'PATCH',
      path: `${IMAGES}/i/${image_name}`,
      json: { starred: true },
      expectNotFound: (res) => notFound(res, image_name),
      adminStatus: 200,
    };
  },
});

runCommonAuthTests(test, 'DELETE /api/v1/images/i/{image_name}', {
  prepareRequest: async (h, owner) => {
    const { image_name } = await uploaded(h, owner.token);
    return {
      method: 'DELETE',
      path: `${IMAGES}/i/${image_name}`,
      expectNotFound: (res) => notFound(res, image_name),
      adminStatus: 204,
    };
  },
});
