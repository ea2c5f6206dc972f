import { sql } from 'drizzle-orm';
import { describe, expect } from 'vitest';
import type { ImageDTO } from '../../src/images/schemas.ts';
import { SIGNED_URL_STEP_S, signedUrlExpiry } from '../../src/images/url-signer.ts';
import { queueReadCacheOf } from '../../src/queue/counts-cache.ts';
import { writeUnannounced } from '../helpers/database.ts';
import type { Harness } from '../helpers/harness.ts';
import { createBoard, it } from '../helpers/image-routes.ts';
import { IMAGES, uploaded } from '../helpers/images.ts';

// The first page of `GET /images` is kept until a write to the images commits (migrations 0012 and 0013,
// src/queue/counts-cache.ts): whatever changes what the page shows must show on the next request.
const firstPage = async (h: Harness, token: string, query = '') => {
  const res = await h.get(`${IMAGES}?limit=50${query}`, { token });
  expect(res.status).toBe(200);
  const page = (await res.json()) as { items: ImageDTO[]; total: number };
  return { total: page.total, items: page.items.map((i) => `${i.image_name}:${i.starred}:${i.board_id}`) };
};

describe('the first gallery page after a write', () => {
  it('shows an upload, a star, a move and a delete on the next request', async ({ h, alice }) => {
    await queueReadCacheOf(h.db)?.ready;
    const a = await uploaded(h, alice.token);
    expect(await firstPage(h, alice.token)).toEqual({ total: 1, items: [`${a.image_name}:false:null`] });
    h.clock.advance(1000);
    const b = await uploaded(h, alice.token);
    expect(await firstPage(h, alice.token)).toEqual({
      total: 2,
      items: [`${b.image_name}:false:null`, `${a.image_name}:false:null`],
    });
    const board = await createBoard(h, alice.token);
    const path = `${IMAGES}/i/${a.image_name}`;
    expect(
      (await h.patch(path, { token: alice.token, json: { starred: true, board_id: board } })).status,
    ).toBe(200);
    expect(await firstPage(h, alice.token)).toEqual({
      total: 2,
      items: [`${b.image_name}:false:null`, `${a.image_name}:true:${board}`],
    });
    expect((await h.delete(`${IMAGES}/i/${b.image_name}`, { token: alice.token })).status).toBe(204);
    expect(await firstPage(h, alice.token)).toEqual({ total: 1, items: [`${a.image_name}:true:${board}`] });
  });

  it('is the kept page until then (a write without the notice or the bump is not seen)', async ({
    h,
    bob,
  }) => {
    await queueReadCacheOf(h.db)?.ready;
    const image = await uploaded(h, bob.token);
    expect(await firstPage(h, bob.token)).toEqual({ total: 1, items: [`${image.image_name}:false:null`] });
    await writeUnannounced(
      h.db,
      sql`UPDATE images SET starred = true WHERE image_name = ${image.image_name}`,
    );
    expect(await firstPage(h, bob.token)).toEqual({ total: 1, items: [`${image.image_name}:false:null`] });
    // Another query is another page: read now.
    expect(await firstPage(h, bob.token, '&starred=true')).toEqual({
      total: 1,
      items: [`${image.image_name}:true:null`],
    });
  });

  it('signs its URLs again when their expiry steps, and they still load', async ({ h, bob }) => {
    await queueReadCacheOf(h.db)?.ready;
    const image = await uploaded(h, bob.token);
    const urls = async () => {
      const res = await h.get(`${IMAGES}?limit=50`, { token: bob.token });
      const { items } = (await res.json()) as { items: ImageDTO[] };
      const item = items.find((i) => i.image_name === image.image_name);
      return { full: item?.image_url ?? '', thumbnail: item?.thumbnail_url ?? '' };
    };
    const exp = (url: string) => Number(new URL(url, 'http://x').searchParams.get('exp'));
    const first = await urls();
    expect(await urls()).toEqual(first);
    expect(exp(first.full)).toBe(signedUrlExpiry(h.clock.now()));
    h.clock.advance(SIGNED_URL_STEP_S * 1000);
    const next = await urls();
    expect([exp(next.full), exp(next.thumbnail)]).toEqual([
      exp(first.full) + SIGNED_URL_STEP_S,
      exp(first.thumbnail) + SIGNED_URL_STEP_S,
    ]);
    for (const url of [next.full, next.thumbnail]) {
      expect((await h.get(url)).status).toBe(200);
    }
  });
});
