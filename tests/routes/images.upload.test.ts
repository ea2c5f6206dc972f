import sharp from 'sharp';
import { describe, expect } from 'vitest';
import { readPngText } from '../../src/images/png-text.ts';
import { expectProblem } from '../helpers/harness.ts';
import { createBoard, expectedDto, it, VALIDATION } from '../helpers/image-routes.ts';
import { generated, IMAGES, imageFile, pixels, upload } from '../helpers/images.ts';

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

  it('tells where its time went, step by step: encode, files, row', async ({ h, alice }) => {
    const steps: [string, number][] = [];
    await generated(h, alice.user.user_id, { onTimed: (step, ms) => steps.push([step, ms]) });
    expect(steps.map(([step]) => step)).toEqual(['encode', 'files', 'row']);
    expect(steps.every(([, ms]) => Number.isFinite(ms) && ms >= 0)).toBe(true);
  });

  it('writes nothing, no file and no row, when the lease it waits for is lost', async ({ h, alice }) => {
    const total = async () =>
      ((await (await h.get(IMAGES, { token: alice.token })).json()) as { total: number }).total;
    const files = h.blobs.keys();
    const images = await total();
    const lost = Promise.reject(new Error('lease lost'));
    await expect(generated(h, alice.user.user_id, { leased: lost })).rejects.toThrow('lease lost');
    expect(h.blobs.keys()).toEqual(files);
    expect(await total()).toBe(images);
    expect(await generated(h, alice.user.user_id, { leased: Promise.resolve() })).toMatchObject({
      width: 16,
    });
    expect(await total()).toBe(images + 1);
  });

  it('writes no text chunk without metadata', async ({ h, alice }) => {
    const image = await generated(h, alice.user.user_id, { metadata: null });
    expect(image.metadata).toBeNull();
    const png = new Uint8Array(await (await h.get(image.image_url)).arrayBuffer());
    expect(readPngText(png)).toEqual({});
  });
});
