import type { ServiceContext } from '../core/context.ts';
import type { ImageVariant } from '../core/images.ts';
import type { ImageRow } from '../db/schema/index.ts';
import type { ImageDTO } from './schemas.ts';
import { signedImageUrl, signedUrlExpiry } from './url-signer.ts';

/** Where an image's files live in the blob store. */
export function blobKey(imageName: string, variant: ImageVariant): string {
  return variant === 'full' ? `images/${imageName}` : `thumbnails/${imageName.replace(/\.png$/, '.webp')}`;
}

/** An image row as the API shows it, with URLs signed to expire at `exp` (by default, those signed now). */
export async function toImageDto(
  ctx: ServiceContext,
  row: ImageRow,
  exp = signedUrlExpiry(ctx.clock.now()),
): Promise<ImageDTO> {
  return {
    image_name: row.imageName,
    image_url: await signedImageUrl(ctx.urlSigner, row.imageName, 'full', exp),
    thumbnail_url: await signedImageUrl(ctx.urlSigner, row.imageName, 'thumbnail', exp),
    width: row.width,
    height: row.height,
    board_id: row.boardId,
    user_id: row.userId,
    queue_item_id: row.queueItemId,
    session_id: row.sessionId,
    node_id: row.nodeId,
    is_intermediate: row.isIntermediate,
    starred: row.starred,
    metadata: row.metadata,
    created_at: row.createdAt.toISOString(),
  };
}
