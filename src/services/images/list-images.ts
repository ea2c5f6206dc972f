import { and, asc, desc, eq, getTableColumns, isNull, type SQL, sql } from 'drizzle-orm';
import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import type { UrlSigner } from '../../core/images.ts';
import { type ImageRow, images } from '../../db/schema/index.ts';
import { toImageDto } from '../../images/image-dto.ts';
import { type ImageDTO, ListImagesQuery } from '../../images/schemas.ts';
import { signedUrlExpiry } from '../../images/url-signer.ts';
import { queueReadCacheOf } from '../../queue/counts-cache.ts';
import { listOwner } from './internal.ts';

/**
 * A page of images, newest first (then by name): the caller's own, or for an admin another user's
 * (`user_id`) or everyone's (`user_id=all`). `board_id=none` is the uncategorized images. The first
 * page is kept until a write to the images commits, on either database (`QueueReadCache`).
 * @example const page = await listImages({ ctx, input: { board_id: 'none', limit: 20 } });
 */
export async function listImages({ ctx, input }: { ctx: ServiceContext; input: ListImagesQuery }) {
  const actor = requireActor(ctx.actor);
  const q = ListImagesQuery.parse(input);
  const owner = listOwner(actor, q.user_id);
  const where: (SQL | undefined)[] = [
    owner === null ? undefined : eq(images.userId, owner),
    q.board_id === undefined
      ? undefined
      : q.board_id === 'none'
        ? isNull(images.boardId)
        : eq(images.boardId, q.board_id),
    q.starred === undefined ? undefined : eq(images.starred, q.starred),
    q.is_intermediate === undefined ? undefined : eq(images.isIntermediate, q.is_intermediate),
  ];
  const count = () =>
    ctx.db
      .select({ total: sql<number>`count(*)::int` })
      .from(images)
      .where(and(...where));
  // One round trip: the page, each row carrying the count of all matching rows (an uncorrelated subquery,
  // counted once). Only a page past the end (no row to carry it) asks for the count on its own.
  const read = async () => {
    const rows = await ctx.db
      .select({ ...getTableColumns(images), total: sql<number>`(${count()})`.mapWith(Number) })
      .from(images)
      .where(and(...where))
      .orderBy(desc(images.createdAt), asc(images.imageName))
      .offset(q.offset)
      .limit(q.limit);
    return new ImagePage(rows, rows[0]?.total ?? (q.offset === 0 ? 0 : ((await count())[0]?.total ?? 0)));
  };
  // The first page is kept until a write to the images commits (migrations 0012 and 0013).
  const cache = q.offset === 0 ? queueReadCacheOf(ctx.db) : undefined;
  const key = `images ${owner} ${q.board_id} ${q.starred} ${q.is_intermediate} ${q.limit}`;
  const page = cache ? await cache.get(key, read, 'page') : await read();
  return { items: await page.items(ctx), offset: q.offset, limit: q.limit, total: page.total };
}

/**
 * A page's rows and the DTOs last made from them. The URLs' expiry moves in steps (`SIGNED_URL_STEP_S`),
 * so a kept page makes its DTOs once per step and signer, not per request (two signed URLs, an ISO date and
 * an object per image were most of the CPU of a kept `GET /images?limit=50`; issue 15). Its DTOs are
 * shared by every caller: never change one.
 */
class ImagePage {
  #made: { signer: UrlSigner; exp: number; items: ImageDTO[] } | undefined;

  constructor(
    private readonly rows: ImageRow[],
    readonly total: number,
  ) {}

  async items(ctx: ServiceContext): Promise<ImageDTO[]> {
    const exp = signedUrlExpiry(ctx.clock.now());
    const made = this.#made;
    if (made?.exp === exp && made.signer === ctx.urlSigner) {
      return made.items;
    }
    const items = await Promise.all(this.rows.map((r) => toImageDto(ctx, r, exp)));
    this.#made = { signer: ctx.urlSigner, exp, items };
    return items;
  }
}
