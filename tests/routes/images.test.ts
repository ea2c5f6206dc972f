import { eq } from 'drizzle-orm';
import sharp from 'sharp';
import { describe, expect } from 'vitest';
import { auditLog, images } from '../../src/db/schema/index.ts';
import { readPngText } from '../../src/images/png-text.ts';
import type { ImageDTO } from '../../src/images/schemas.ts';
import { unavailableCodec } from '../../src/images/unavailable-codec.ts';
import { harnessTest } from '../helpers/fixtures.ts';
import { createHarness, expectProblem, type Harness, type TestUser } from '../helpers/harness.ts';
import {
  BOARDS,
  generated,
  IMAGES,
  imageFile,
  NAME,
  pixels,
  upload,
  uploaded,
  withQuery,
} from '../helpers/images.ts';
import { runCommonAuthTests } from '../helpers/security.ts';

const test = harnessTest({}, { alice: { displayName: 'Alice' }, bob: { displayName: 'Bob' } });
const it = test;

const VALIDATION = 'The request does not match the schema.';
const NEED_AUTH = 'A bearer token or a valid signed URL is required.';
const OWNER_GONE = "The signed URL no longer works: its image's owner is deactivated or deleted.";

const notFound = (res: Response, name: string) =>
  expectProblem(res, 'not_found', 404, 'Not found', `Image ${name} was not found`);

/** The DTO every new image of Alice's has, but for its name and signed URLs. */
function expectedDto(h: Harness, alice: TestUser, over: Partial<ImageDTO>) {
  return {
    image_name: expect.stringMatching(NAME),
    image_url: expect.stringMatching(
      /^\/api\/v1\/images\/i\/[0-9a-f-]{36}\.png\/full\?exp=\d+&sig=[\w-]{43}$/,
    ),
    thumbnail_url: expect.stringMatching(
      /^\/api\/v1\/images\/i\/[0-9a-f-]{36}\.png\/thumbnail\?exp=\d+&sig=[\w-]{43}$/,
    ),
    width: 32,
    height: 24,
    board_id: null,
    user_id: alice.user.user_id,
    queue_item_id: null,
    session_id: null,
    node_id: null,
    is_intermediate: false,
    starred: false,
    metadata: null,
    created_at: h.clock.now().toISOString(),
    ...over,
  };
}

async function createBoard(h: Harness, token: string, name = 'Board') {
  const res = await h.post(BOARDS, { token, json: { board_name: name } });
  expect(res.status).toBe(201);
  return (await res.json()).board_id as string;
}

describe('POST /api/v1/images/upload', () => {
  it.for(['png', 'jpeg', 'webp'] as const)(
    'stores a %s as PNG and answers 201 with the ImageDTO',
    async (format, { h, alice }) => {
      const res = await upload(h, alice.token, await imageFile(format), {
        type: `image/${format}`,
      });
      expect(res.status).toBe(201);
      const body = await res.json();
      expect(body).toEqual(expectedDto(h, alice, {}));
      const full = await h.get(body.image_url);
      expect(full.status).toBe(200);
      expect(full.headers.get('content-type')).toBe('image/png');
      const meta = await sharp(new Uint8Array(await full.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 32, 24]);
      if (format === 'png') {
        const { data } = await sharp(new Uint8Array(await (await h.get(body.image_url)).arrayBuffer()))
          .raw()
          .toBuffer({ resolveWithObject: true });
        expect(new Uint8Array(data)).toEqual(pixels(32, 24));
      }
      const thumb = await h.get(body.thumbnail_url);
      expect(thumb.status).toBe(200);
      expect(thumb.headers.get('content-type')).toBe('image/webp');
      expect((await sharp(new Uint8Array(await thumb.arrayBuffer())).metadata()).format).toBe('webp');
    },
  );

  it('drops EXIF and turns the image upright by its orientation; thumbnails fit in 256 px', async ({
    h,
    alice,
  }) => {
    const jpeg = await sharp(pixels(600, 300), { raw: { width: 600, height: 300, channels: 3 } })
      .jpeg()
      .withExif({ IFD0: { Artist: 'Secret Person', Copyright: 'GPS-ish' } })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).exif).toBeDefined();
    const res = await upload(h, alice.token, new Uint8Array(jpeg), { type: 'image/jpeg' });
    expect(res.status).toBe(201);
    const body = await res.json();
    expect([body.width, body.height]).toEqual([300, 600]);
    const png = new Uint8Array(await (await h.get(body.image_url)).arrayBuffer());
    const meta = await sharp(png).metadata();
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect([meta.width, meta.height]).toEqual([300, 600]);
    expect(new TextDecoder('latin1').decode(png)).not.toContain('Secret Person');
    const thumb = await sharp(
      new Uint8Array(await (await h.get(body.thumbnail_url)).arrayBuffer()),
    ).metadata();
    expect([thumb.width, thumb.height]).toEqual([128, 256]);
  });

  it('puts the image on a board of the caller', async ({ h, alice }) => {
    const board = await createBoard(h, alice.token);
    const res = await upload(h, alice.token, await imageFile('png'), { boardId: board });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual(expectedDto(h, alice, { board_id: board }));
  });

  it('refuses a board that is not the caller’s with 422 and stores nothing', async ({ h, alice, bob }) => {
    const board = await createBoard(h, bob.token);
    const before = h.blobs.keys();
    for (const boardId of [board, 'no-such-board']) {
      const res = await upload(h, alice.token, await imageFile('png'), { boardId });
      await expectProblem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
        { path: 'board_id', message: `unknown board "${boardId}"` },
      ]);
    }
    expect(h.blobs.keys()).toEqual(before);
  });

  it('refuses files that are not PNG, JPEG or WebP with 415, whatever their declared type', async ({
    h,
    alice,
  }) => {
    const gif = await upload(h, alice.token, await imageFile('gif'), { type: 'image/png' });
    await expectProblem(
      gif,
      'unsupported_media_type',
      415,
      'Unsupported media type',
      'Only PNG, JPEG and WebP images can be uploaded.',
    );
    const text = await upload(h, alice.token, new TextEncoder().encode('hello'), { type: 'image/jpeg' });
    expect(text.status).toBe(415);
  });

  it('refuses a corrupt image with 422 at file', async ({ h, alice }) => {
    const png = await imageFile('png', 64, 64);
    const truncated = png.slice(0, 60);
    const res = await upload(h, alice.token, truncated);
    await expectProblem(res, 'validation_failed', 422, 'Validation failed', VALIDATION, [
      { path: 'file', message: 'the file is not a decodable image' },
    ]);
    const garbage = new Uint8Array(4000).fill(7);
    garbage.set([0xff, 0xd8, 0xff], 0);
    expect((await upload(h, alice.token, garbage)).status).toBe(422);
  });

  it('refuses a file over 20 MiB with 413 (declared length or streamed)', async ({ h, alice }) => {
    const big = new Uint8Array(20 * 1024 * 1024 + 1);
    big.set(await imageFile('png'), 0);
    const res = await upload(h, alice.token, big);
    await expectProblem(
      res,
      'payload_too_large',
      413,
      'Payload too large',
      `The file is larger than ${20 * 1024 * 1024} bytes.`,
    );
    const form = new FormData();
    form.append('file', new Blob([big]), 'big.png');
    const declared = await h.app.request(`${IMAGES}/upload`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${alice.token}`, 'Content-Length': String(big.length + 500) },
      body: form,
    });
    expect(declared.status).toBe(413);
  });

  it('accepts a file larger than the API’s 1 MiB JSON limit', async ({ h, alice }) => {
    const png = await sharp(
      Uint8Array.from({ length: 800 * 800 * 3 }, () => Math.floor(Math.random() * 256)),
      { raw: { width: 800, height: 800, channels: 3 } },
    )
      .png({ compressionLevel: 0 })
      .toBuffer();
    expect(png.length).toBeGreaterThan(1024 * 1024);
    expect((await upload(h, alice.token, new Uint8Array(png))).status).toBe(201);
  });

  it('a missing file or a file given as text is 422; a JSON body is 415; a broken multipart body is 400', async ({
    h,
    alice,
  }) => {
    const form = new FormData();
    form.append('board_id', 'x');
    const missing = await h.post(`${IMAGES}/upload`, { token: alice.token, body: form });
    await expectProblem(missing, 'validation_failed', 422, 'Validation failed', VALIDATION, [
      { path: 'file', message: 'a file is required' },
    ]);
    const asText = new FormData();
    asText.append('file', 'not a file');
    expect((await h.post(`${IMAGES}/upload`, { token: alice.token, body: asText })).status).toBe(422);
    const json = await h.post(`${IMAGES}/upload`, { token: alice.token, json: { file: 'x' } });
    expect(json.status).toBe(415);
    expect((await json.json()).code).toBe('unsupported_media_type');
    const broken = await h.post(`${IMAGES}/upload`, {
      token: alice.token,
      headers: { 'Content-Type': 'multipart/form-data; boundary=abc' },
      body: '--abc\r\nContent-Disposition: form-data; name="file"\r\n\r\nunterminated',
    });
    expect(broken.status).toBe(400);
    expect((await broken.json()).code).toBe('bad_request');
  });

  it('without a token is 401', async ({ h }) => {
    const res = await upload(h, undefined, await imageFile('png'));
    await expectProblem(res, 'unauthorized', 401, 'Unauthorized', 'A bearer token is required.');
  });
});

describe('saveGeneratedImage', () => {
  it('writes the PNG with its metadata text chunk, the thumbnail and the row', async ({ h, alice }) => {
    const metadata = { model: 'tiny-sd', prompt: 'a café ☕', seed: 42, steps: 4, cfg_scale: 7.5 };
    const image = await generated(h, alice.user.user_id, { metadata });
    expect(image).toEqual(
      expectedDto(h, alice, {
        width: 16,
        height: 8,
        queue_item_id: 7,
        session_id: 'session-1',
        node_id: 'l2i',
        metadata,
      }),
    );
    const png = new Uint8Array(await (await h.get(image.image_url)).arrayBuffer());
    expect(JSON.parse(readPngText(png).invokeai_metadata ?? 'null')).toEqual(metadata);
    expect(h.blobs.keys()).toContain(`thumbnails/${image.image_name.replace('.png', '.webp')}`);
    const get = await h.get(`${IMAGES}/i/${image.image_name}`, { token: alice.token });
    expect(await get.json()).toEqual({ ...image, created_at: image.created_at });
  });

  it('saves uncategorized when the board is gone or someone else’s', async ({ h, alice, bob }) => {
    const bobs = await createBoard(h, bob.token);
    const mine = await createBoard(h, alice.token);
    expect((await generated(h, alice.user.user_id, { boardId: bobs })).board_id).toBeNull();
    expect((await generated(h, alice.user.user_id, { boardId: 'gone' })).board_id).toBeNull();
    expect((await generated(h, alice.user.user_id, { boardId: mine })).board_id).toBe(mine);
  });

  it('writes no text chunk without metadata', async ({ h, alice }) => {
    const image = await generated(h, alice.user.user_id, { metadata: null });
    expect(image.metadata).toBeNull();
    const png = new Uint8Array(await (await h.get(image.image_url)).arrayBuffer());
    expect(readPngText(png)).toEqual({});
  });
});

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
