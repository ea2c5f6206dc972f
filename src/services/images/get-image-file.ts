import type { ServiceContext } from '../../core/context.ts';
import { AuthError, NotFoundError } from '../../core/errors.ts';
import type { ImageVariant } from '../../core/images.ts';
import { blobKey } from '../../images/image-dto.ts';
import { findImage, findImageOfActiveOwner, imageForActor } from './internal.ts';

/** How long a browser may keep a file fetched with a token. */
const TOKEN_CACHE_S = 3600;

export interface ImageFile {
  bytes: Uint8Array;
  contentType: 'image/png' | 'image/webp';
  /** Seconds a private cache may keep it: until the signature expires, or an hour with a token. */
  maxAge: number;
}

/**
 * The PNG or WebP thumbnail of an image, for a valid signed URL (`exp`, `sig`), or for its owner or an admin
 * with a token. A bad or expired signature without a token is 401; with a token, another user's image is 404.
 * @example const file = await getImageFile({ ctx, input: { imageName, variant: 'full', exp, sig } });
 */
export async function getImageFile({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { imageName: string; variant: ImageVariant; exp?: string; sig?: string };
}): Promise<ImageFile> {
  const nowS = Math.floor(ctx.clock.now().getTime() / 1000);
  const exp = input.exp !== undefined && /^\d{1,12}$/.test(input.exp) ? Number(input.exp) : undefined;
  const signed =
    exp !== undefined &&
    input.sig !== undefined &&
    exp > nowS &&
    (await ctx.urlSigner.verify(input.imageName, input.variant, exp, input.sig));
  // A signature serves the image while its owner's account is active (API.md section 6): once the owner is
  // deactivated or deleted it counts as none, and only a token (an admin's) still reaches the image.
  const bySignature = signed ? await findImageOfActiveOwner(ctx.db, input.imageName) : undefined;
  let row = bySignature;
  if (!row && ctx.actor) {
    row = await imageForActor(ctx.db, ctx.actor, input.imageName);
  } else if (!row && signed && (await findImage(ctx.db, input.imageName)) !== undefined) {
    throw new AuthError(
      'unauthorized',
      "The signed URL no longer works: its image's owner is deactivated or deleted.",
      { missingToken: true },
    );
  } else if (!row && !signed) {
    const expired = exp !== undefined && exp <= nowS && input.sig !== undefined;
    throw new AuthError(
      'unauthorized',
      expired ? 'The signed URL has expired.' : 'A bearer token or a valid signed URL is required.',
      { missingToken: true },
    );
  }
  const bytes = row ? await ctx.blobs.get(blobKey(row.imageName, input.variant)) : null;
  if (!bytes) {
    throw new NotFoundError('Image', input.imageName);
  }
  return {
    bytes,
    contentType: input.variant === 'full' ? 'image/png' : 'image/webp',
    maxAge: bySignature && exp !== undefined ? Math.min(exp - nowS, TOKEN_CACHE_S) : TOKEN_CACHE_S,
  };
}
