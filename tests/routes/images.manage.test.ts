import { eq } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { auditLog, images } from '../../src/db/schema/index.ts';
import type { ImageDTO } from '../../src/images/schemas.ts';
import { unavailableCodec } from '../../src/images/unavailable-codec.ts';
import { createHarness, expectProblem, type Harness, type TestUser } from '../helpers/harness.ts';
import { createBoard, it, notFound, OWNER_GONE, test, VALIDATION } from '../helpers/image-routes.ts';
import { IMAGES, imageFile, upload, uploaded } from '../helpers/images.ts';

describe('GET /api/v1/images', () => {
  let user: TestUser;
  const made: ImageDTO[] = [];
  let board = '';
  test.beforeAll(async ({ h }) => {
    user = await h.createUser();
    board = await createBoard(h, user.token, 'Listed');
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1000);
      made.push(await uploaded(h, user.token, i % 2 === 0 ? {} : { boardId: board }));
    }
    await h.patch(`${IMAGES}/i/${made[0]?.image_name}`, { token: user.token, json: { starred: true } });
  });
  const names = async (h: Harness, query: string) => {
    const res = await h.get(`${IMAGES}${query}`, { token: user.token });
    expect(res.status).toBe(200);
    const body = await res.json();
    return { ...body, items: body.items.map((i: ImageDTO) => i.image_name) };
  };
  const newestFirst = () => [...made].reverse().map((i) => i.image_name);

  it('lists the caller’s images newest first with offset, limit and total', async ({ h }) => {
    expect(await names(h, '')).toEqual({ items: newestFirst(), offset: 0, limit: 50, total: 5 });
    expect(await names(h, '?offset=1&limit=2')).toEqual({
      items: newestFirst().slice(1, 3),
      offset: 1,
      limit: 2,
      total: 5,
    });
    expect(await names(h, '?offset=10')).toEqual({ items: [], offset: 10, limit: 50, total: 5 });
  });

  it('filters by board, uncategorized and starred', async ({ h }) => {
    const onBoard = newestFirst().filter((n) => made.find((m) => m.image_name === n)?.board_id === board);
    expect((await names(h, `?board_id=${board}`)).items).toEqual(onBoard);
    expect((await names(h, '?board_id=none')).items).toEqual(
      newestFirst().filter((n) => !onBoard.includes(n)),
    );
    expect(await names(h, '?starred=true')).toEqual({
      items: [made[0]?.image_name],
      offset: 0,
      limit: 50,
      total: 1,
    });
    expect((await names(h, '?starred=false')).total).toBe(4);
    expect((await names(h, '?is_intermediate=false')).total).toBe(5);
    expect((await names(h, '?is_intermediate=true')).total).toBe(0);
  });

  it('refuses bad query values with 422', async ({ h }) => {
    const res = await h.get(`${IMAGES}?limit=0&offset=-1&starred=maybe`, { token: user.token });
    expect(res.status).toBe(422);
    const body = await res.json();
    expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'query.limit',
      'query.offset',
      'query.starred',
    ]);
    expect((await h.get(`${IMAGES}?limit=201`, { token: user.token })).status).toBe(422);
  });
});

describe('PATCH /api/v1/images/i/{image_name}', () => {
  it('stars, moves to an own board and back to uncategorized', async ({ h, alice }) => {
    const image = await uploaded(h, alice.token);
    const board = await createBoard(h, alice.token);
    const path = `${IMAGES}/i/${image.image_name}`;
    const starred = await h.patch(path, { token: alice.token, json: { starred: true } });
    expect(await starred.json()).toEqual({
      ...image,
      starred: true,
      image_url: expect.any(String),
      thumbnail_url: expect.any(String),
    });
    const moved = await (await h.patch(path, { token: alice.token, json: { board_id: board } })).json();
    expect([moved.board_id, moved.starred]).toEqual([board, true]);
    const back = await (
      await h.patch(path, { token: alice.token, json: { board_id: null, starred: false } })
    ).json();
    expect([back.board_id, back.starred]).toEqual([null, false]);
  });

  it('a board of someone else (even for an admin moving the owner’s image) or an unknown one is 422', async ({
    h,
    alice,
    bob,
    admin,
  }) => {
    const image = await uploaded(h, alice.token);
    const bobs = await createBoard(h, bob.token);
    const admins = await createBoard(h, admin.token);
    const path = `${IMAGES}/i/${image.image_name}`;
    for (const [token, boardId] of [
      [alice.token, bobs],
      [alice.token, 'nope'],
      [admin.token, admins],
    ] as const) {
      const res = await h.patch(path, { token, json: { board_id: boardId } });
      await expectProblem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
        { path: 'board_id', message: `unknown board "${boardId}"` },
      ]);
    }
    const aliceBoard = await createBoard(h, alice.token);
    const ok = await h.patch(path, { token: admin.token, json: { board_id: aliceBoard } });
    expect((await ok.json()).board_id).toBe(aliceBoard);
  });

  it('unknown fields and wrong types are 422; malformed JSON is 400', async ({ h, alice }) => {
    const image = await uploaded(h, alice.token);
    const path = `${IMAGES}/i/${image.image_name}`;
    const res = await h.patch(path, { token: alice.token, json: { starred: 'yes', name: 'x' } });
    expect(res.status).toBe(422);
    expect((await res.json()).errors.map((e: { path: string }) => e.path).sort()).toEqual(['', 'starred']);
    const bad = await h.patch(path, {
      token: alice.token,
      body: '{',
      headers: { 'Content-Type': 'application/json' },
    });
    expect(bad.status).toBe(400);
  });
});

describe('DELETE /api/v1/images/i/{image_name}', () => {
  it('removes the row and both files, audits image.deleted, and is 404 afterwards', async ({ h, alice }) => {
    const image = await uploaded(h, alice.token);
    const name = image.image_name;
    const res = await h.delete(`${IMAGES}/i/${name}`, { token: alice.token });
    expect(res.status).toBe(204);
    expect(h.blobs.keys().filter((k) => k.includes(name.replace('.png', '')))).toEqual([]);
    expect(await h.db.select().from(images).where(eq(images.imageName, name))).toEqual([]);
    const audit = await h.db.select().from(auditLog).where(eq(auditLog.targetId, name));
    expect(audit.map((a) => [a.action, a.actorUserId, a.targetType, a.details])).toEqual([
      ['image.deleted', alice.user.user_id, 'image', { user_id: alice.user.user_id, board_id: null }],
    ]);
    expect(audit[0]?.requestId).toBe(res.headers.get('x-request-id'));
    await notFound(await h.delete(`${IMAGES}/i/${name}`, { token: alice.token }), name);
    expect((await h.get(image.image_url)).status).toBe(404);
  });

  it('an admin deletes another user’s image', async ({ h, bob, admin }) => {
    const image = await uploaded(h, bob.token);
    expect((await h.delete(`${IMAGES}/i/${image.image_name}`, { token: admin.token })).status).toBe(204);
  });

  it('a deleted user’s images stay, with their user_id', async ({ h, admin }) => {
    const carol = await h.createUser();
    const image = await uploaded(h, carol.token);
    expect((await h.delete(`/api/v1/users/${carol.user.user_id}`, { token: admin.token })).status).toBe(204);
    const res = await h.get(`${IMAGES}/i/${image.image_name}`, { token: admin.token });
    expect((await res.json()).user_id).toBe(carol.user.user_id);
    // Its signed URLs no longer work (an admin's token still opens the file).
    await expectProblem(await h.get(image.image_url), 'unauthorized', 401, 'Unauthorized', OWNER_GONE);
    expect((await h.get(image.image_url, { token: admin.token })).status).toBe(200);
  });
});

describe('without an image codec (the Deno entry)', () => {
  it('an upload is 503 unavailable and stores nothing', async ({ onTestFinished }) => {
    const bare = await createHarness({ onTestFinished }, { deps: { images: unavailableCodec } });
    const user = await bare.createUser();
    const res = await upload(bare, user.token, await imageFile('png'));
    await expectProblem(
      res,
      'unavailable',
      503,
      'Service unavailable',
      'Image encoding is not available on this runtime.',
    );
    expect(bare.blobs.keys()).toEqual([]);
  });
});
