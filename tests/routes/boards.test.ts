import { eq } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import { auditLog, boards, images } from '../../src/db/schema/index.ts';
import type { BoardDTO } from '../../src/services/boards/index.ts';
import { it, test } from '../helpers/fixtures.ts';
import { textToImageGraph } from '../helpers/graphs.ts';
import { expectProblem, type Harness, type TestUser } from '../helpers/harness.ts';
import { BOARDS, generated, IMAGES, uploaded } from '../helpers/images.ts';
import { Q } from '../helpers/queue.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

const VALIDATION = 'The request does not match the schema.';

const boardNotFound = (res: Response, id: string) =>
  expectProblem(res, 'not_found', 404, 'Not found', `Board ${id} was not found`);

async function create(h: Harness, token: string, name: string): Promise<BoardDTO> {
  const res = await h.post(BOARDS, { token, json: { board_name: name } });
  expect(res.status).toBe(201);
  return res.json();
}

describe('POST /api/v1/boards', () => {
  it('creates an empty board of the caller', async ({ h, alice }) => {
    const res = await h.post(BOARDS, { token: alice.token, json: { board_name: '  Cats  ' } });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body).toEqual({
      board_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      board_name: 'Cats',
      user_id: alice.user.user_id,
      image_count: 0,
      cover_image_name: null,
      created_at: h.clock.now().toISOString(),
    });
    expect(res.headers.get('x-refreshed-token')).not.toBeNull();
  });

  it('names are 1–300 characters; unknown fields and a missing name are 422', async ({ h, alice }) => {
    expect((await h.post(BOARDS, { token: alice.token, json: { board_name: 'x'.repeat(300) } })).status).toBe(
      201,
    );
    const cases: [unknown, { path: string; message: string }[]][] = [
      [
        { board_name: '   ' },
        [{ path: 'board_name', message: 'Too small: expected string to have >=1 characters' }],
      ],
      [
        { board_name: 'x'.repeat(301) },
        [{ path: 'board_name', message: 'Too big: expected string to have <=300 characters' }],
      ],
      [{}, [{ path: 'board_name', message: 'Invalid input: expected string, received undefined' }]],
      [{ board_name: 'a', color: 'red' }, [{ path: '', message: 'Unrecognized key: "color"' }]],
    ];
    for (const [json, errors] of cases) {
      const res = await h.post(BOARDS, { token: alice.token, json });
      await expectProblem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, errors);
    }
  });

  it('without a token is 401', async ({ h }) => {
    const res = await h.post(BOARDS, { json: { board_name: 'x' } });
    await expectProblem(res, 'unauthorized', 401, 'Unauthorized', 'A bearer token is required.');
  });
});

describe('GET /api/v1/boards', () => {
  let user: TestUser;
  let other: TestUser;
  test.beforeAll(async ({ h }) => {
    user = await h.createUser();
    other = await h.createUser();
  });

  it('lists the caller’s boards newest first, with image counts and the newest image as cover', async ({
    h,
  }) => {
    h.clock.advance(1000);
    const first = await create(h, user.token, 'First');
    h.clock.advance(1000);
    const second = await create(h, user.token, 'Second');
    await create(h, other.token, 'Not yours');
    h.clock.advance(1000);
    await uploaded(h, user.token, { boardId: first.board_id });
    h.clock.advance(1000);
    const newest = await uploaded(h, user.token, { boardId: first.board_id });
    await uploaded(h, user.token);
    const res = await h.get(BOARDS, { token: user.token });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { ...second },
      { ...first, image_count: 2, cover_image_name: newest.image_name },
    ]);
  });

  it('an admin lists another user’s boards or everyone’s; a non-admin may not', async ({ h, admin }) => {
    const mine = await (await h.get(BOARDS, { token: user.token })).json();
    expect(
      await (await h.get(`${BOARDS}?user_id=${user.user.user_id}`, { token: admin.token })).json(),
    ).toEqual(mine);
    const all: BoardDTO[] = await (await h.get(`${BOARDS}?user_id=all`, { token: admin.token })).json();
    expect(all.map((b) => b.user_id)).toEqual(
      expect.arrayContaining([user.user.user_id, other.user.user_id]),
    );
    const res = await h.get(`${BOARDS}?user_id=${user.user.user_id}`, { token: other.token });
    await expectProblem(
      res,
      'forbidden',
      403,
      'Forbidden',
      "Only admins may list another user's images and boards.",
    );
    const others: BoardDTO[] = await (await h.get(BOARDS, { token: other.token })).json();
    expect(others.map((b) => b.board_name)).toEqual(['Not yours']);
  });
});

describe('a board of another user', () => {
  let board: BoardDTO;
  let image = '';
  test.beforeAll(async ({ h, alice }) => {
    board = await create(h, alice.token, 'Private');
    image = (await uploaded(h, alice.token, { boardId: board.board_id })).image_name;
  });

  it('is 404 to rename, delete or list, and nothing changes', async ({ h, bob }) => {
    const id = board.board_id;
    await boardNotFound(
      await h.patch(`${BOARDS}/${id}`, { token: bob.token, json: { board_name: 'x' } }),
      id,
    );
    await boardNotFound(await h.delete(`${BOARDS}/${id}`, { token: bob.token }), id);
    await boardNotFound(await h.delete(`${BOARDS}/${id}?delete_images=true`, { token: bob.token }), id);
    await boardNotFound(await h.get(`${BOARDS}/${id}/image_names`, { token: bob.token }), id);
    const [row] = await h.db.select().from(boards).where(eq(boards.boardId, id));
    expect(row?.boardName).toBe('Private');
    expect((await h.get(`${IMAGES}?board_id=${id}`, { token: bob.token }).then((r) => r.json())).total).toBe(
      0,
    );
  });

  it('an unknown board is 404', async ({ h, alice }) => {
    await boardNotFound(await h.get(`${BOARDS}/nope/image_names`, { token: alice.token }), 'nope');
    await boardNotFound(
      await h.patch(`${BOARDS}/nope`, { token: alice.token, json: { board_name: 'x' } }),
      'nope',
    );
    await boardNotFound(await h.delete(`${BOARDS}/nope`, { token: alice.token }), 'nope');
  });

  it('an admin lists its image names and renames it', async ({ h, admin }) => {
    const names = await h.get(`${BOARDS}/${board.board_id}/image_names`, { token: admin.token });
    expect(await names.json()).toEqual([image]);
    const renamed = await h.patch(`${BOARDS}/${board.board_id}`, {
      token: admin.token,
      json: { board_name: 'Renamed' },
    });
    expect(await renamed.json()).toEqual({
      ...board,
      board_name: 'Renamed',
      image_count: 1,
      cover_image_name: image,
    });
  });

  it('without a token every board route is 401', async ({ h }) => {
    for (const res of [
      await h.get(BOARDS),
      await h.get(`${BOARDS}/${board.board_id}/image_names`),
      await h.patch(`${BOARDS}/${board.board_id}`, { json: { board_name: 'x' } }),
      await h.delete(`${BOARDS}/${board.board_id}`),
    ]) {
      await expectProblem(res, 'unauthorized', 401, 'Unauthorized', 'A bearer token is required.');
    }
  });
});

runCommonAuthTests(test, 'PATCH /api/v1/boards/{board_id}', {
  prepareRequest: async (h, owner) => {
    const board = await create(h, owner.token, 'Mine');
    return {
      method: 'PATCH',
      path: `${BOARDS}/${board.board_id}`,
      json: { board_name: 'Renamed' },
      expectNotFound: (res) => boardNotFound(res, board.board_id),
      adminStatus: 200,
    };
  },
});

runCommonAuthTests(test, 'GET /api/v1/boards/{board_id}/image_names', {
  prepareRequest: async (h, owner) => {
    const board = await create(h, owner.token, 'Mine');
    await uploaded(h, owner.token, { boardId: board.board_id });
    return {
      method: 'GET',
      path: `${BOARDS}/${board.board_id}/image_names`,
      expectNotFound: (res) => boardNotFound(res, board.board_id),
      adminStatus: 200,
    };
  },
});

runCommonAuthTests(test, 'DELETE /api/v1/boards/{board_id}', {
  prepareRequest: async (h, owner) => {
    const board = await create(h, owner.token, 'Mine');
    return {
      method: 'DELETE',
      path: `${BOARDS}/${board.board_id}`,
      expectNotFound: (res) => boardNotFound(res, board.board_id),
      adminStatus: 204,
    };
  },
});

describe('PATCH and image_names', () => {
  it('renames a board (422 for a bad name) and lists its images newest first', async ({ h, alice }) => {
    const board = await create(h, alice.token, 'Old');
    const a = await uploaded(h, alice.token, { boardId: board.board_id });
    h.clock.advance(1000);
    const b = await generated(h, alice.user.user_id, { boardId: board.board_id });
    const res = await h.patch(`${BOARDS}/${board.board_id}`, {
      token: alice.token,
      json: { board_name: 'New' },
    });
    expect(await res.json()).toEqual({
      ...board,
      board_name: 'New',
      image_count: 2,
      cover_image_name: b.image_name,
    });
    const bad = await h.patch(`${BOARDS}/${board.board_id}`, {
      token: alice.token,
      json: { board_name: '' },
    });
    expect(bad.status).toBe(422);
    const names = await h.get(`${BOARDS}/${board.board_id}/image_names`, { token: alice.token });
    expect(await names.json()).toEqual([b.image_name, a.image_name]);
  });
});

describe('DELETE /api/v1/boards/{board_id}', () => {
  it('leaves the images uncategorized by default, and audits board.deleted', async ({ h, alice }) => {
    const board = await create(h, alice.token, 'Keep images');
    const image = await uploaded(h, alice.token, { boardId: board.board_id });
    const res = await h.delete(`${BOARDS}/${board.board_id}`, { token: alice.token });
    expect(res.status).toBe(204);
    const got = await (await h.get(`${IMAGES}/i/${image.image_name}`, { token: alice.token })).json();
    expect(got.board_id).toBeNull();
    expect((await h.get(image.image_url)).status).toBe(200);
    const audit = await h.db.select().from(auditLog).where(eq(auditLog.targetId, board.board_id));
    expect(audit.map((a) => [a.action, a.actorUserId, a.targetType, a.details, a.requestId])).toEqual([
      [
        'board.deleted',
        alice.user.user_id,
        'board',
        { board_name: 'Keep images', user_id: alice.user.user_id, delete_images: false, images_deleted: 0 },
        res.headers.get('x-request-id'),
      ],
    ]);
    await boardNotFound(
      await h.delete(`${BOARDS}/${board.board_id}`, { token: alice.token }),
      board.board_id,
    );
  });

  it('with delete_images=true deletes the images and their files too, and no others', async ({
    h,
    alice,
  }) => {
    const board = await create(h, alice.token, 'Drop images');
    const on = [
      await uploaded(h, alice.token, { boardId: board.board_id }),
      await uploaded(h, alice.token, { boardId: board.board_id }),
    ];
    const off = await uploaded(h, alice.token);
    const res = await h.delete(`${BOARDS}/${board.board_id}?delete_images=true`, { token: alice.token });
    expect(res.status).toBe(204);
    for (const image of on) {
      expect(await h.db.select().from(images).where(eq(images.imageName, image.image_name))).toEqual([]);
      expect(h.blobs.keys().filter((k) => k.includes(image.image_name.replace('.png', '')))).toEqual([]);
    }
    expect((await h.get(off.image_url)).status).toBe(200);
    const [entry] = await h.db.select().from(auditLog).where(eq(auditLog.targetId, board.board_id));
    expect(entry?.details).toEqual({
      board_name: 'Drop images',
      user_id: alice.user.user_id,
      delete_images: true,
      images_deleted: 2,
    });
  });

  it('an admin deletes another user’s board; a bad delete_images is 422', async ({ h, bob, admin }) => {
    const board = await create(h, bob.token, 'Bob’s');
    const bad = await h.delete(`${BOARDS}/${board.board_id}?delete_images=yes`, { token: admin.token });
    expect(bad.status).toBe(422);
    expect((await bad.json()).errors[0].path).toBe('query.delete_images');
    expect((await h.delete(`${BOARDS}/${board.board_id}`, { token: admin.token })).status).toBe(204);
  });
});

describe('boards in enqueued graphs', () => {
  it('accepts the caller’s own board and refuses another user’s (admins too) with 422 at the path', async ({
    h,
    alice,
    bob,
    admin,
  }) => {
    const mine = await create(h, alice.token, 'Target');
    const ok = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: { batch: { graph: textToImageGraph({ board_id: mine.board_id }) } },
    });
    expect(ok.status).toBe(201);
    for (const token of [bob.token, admin.token]) {
      const res = await h.post(`${Q}/enqueue_batch`, {
        token,
        json: { batch: { graph: textToImageGraph({ board_id: mine.board_id }) } },
      });
      await expectProblem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
        { path: 'batch.graph.nodes.l2i.board', message: `unknown board "${mine.board_id}"` },
      ]);
    }
  });

  it('checks boards given by batch data too', async ({ h, alice, bob }) => {
    const mine = await create(h, alice.token, 'Data target');
    const bobs = await create(h, bob.token, 'Other');
    const res = await h.post(`${Q}/enqueue_batch`, {
      token: alice.token,
      json: {
        batch: {
          graph: textToImageGraph(),
          data: [
            [
              {
                node_path: 'l2i',
                field_name: 'board',
                items: [{ board_id: mine.board_id }, { board_id: bobs.board_id }],
              },
            ],
          ],
        },
      },
    });
    await expectProblem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
      { path: 'batch.data.0.0.items.1', message: `unknown board "${bobs.board_id}"` },
    ]);
  });
});
