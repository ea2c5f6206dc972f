import type { ServiceContext } from '../core/context.ts';
import { toImageDto } from '../images/image-dto.ts';
import { asciiJson } from '../images/png-text.ts';
import type { ImageDTO } from '../images/schemas.ts';
import { METADATA_KEYWORD, THUMBNAIL_SIZE } from '../images/schemas.ts';
import { storeImage } from '../images/store.ts';

/** A finished image from the scheduler (an `l2i` node). */
export interface SaveGeneratedImageInput {
  /** 8-bit RGB pixels, row-major (HWC). */
  rgb: Uint8Array;
  width: number;
  height: number;
  /** The owner of the queue item. */
  userId: string;
  queueItemId: number | null;
  sessionId: string | null;
  nodeId: string | null;
  /** The `l2i` node's board; a board that is gone or not the owner's gives an uncategorized image. */
  boardId: string | null;
  isIntermediate: boolean;
  /** The generation parameters; also written to the PNG's `invokeai_metadata` text chunk. */
  metadata: Record<string, unknown> | null;
}

/** Where a save's time goes: `encode` (PNG and thumbnail), `files`, `row`. */
export type SaveTimer = (step: 'encode' | 'files' | 'row', ms: number) => void;

/**
 * Encodes a generated image as PNG (with its metadata chunk) and a thumbnail, waits for `leased` (the
 * worker's lease renewal, which runs meanwhile; its rejection ends the save before anything is written),
 * writes both files, then the row; returns the image as the API shows it, telling `onTimed` each step's
 * time. Needs no actor: it runs for the scheduler.
 * @example const image = await saveGeneratedImage({ ctx, input: { rgb, width: 512, height: 512, userId, queueItemId: 7, sessionId, nodeId: 'l2i', boardId: null, isIntermediate: false, metadata } });
 */
export async function saveGeneratedImage({
  ctx,
  input,
  leased,
  onTimed,
}: {
  ctx: ServiceContext;
  input: SaveGeneratedImageInput;
  leased?: Promise<void>;
  onTimed?: SaveTimer;
}): Promise<ImageDTO> {
  const text: Record<string, string> =
    input.metadata === null ? {} : { [METADATA_KEYWORD]: asciiJson(input.metadata) };
  // Awaited once the encoding is done: a loss meanwhile must not count as unhandled.
  leased?.catch(() => {});
  // The PNG and the thumbnail are encoded side by side from the pixels.
  const encoding = performance.now();
  const [png, thumbnail] = await Promise.all([
    ctx.images.encodePng(input.rgb, input.width, input.height, text),
    ctx.images.thumbnailOfPixels(input.rgb, input.width, input.height, THUMBNAIL_SIZE),
  ]);
  onTimed?.('encode', performance.now() - encoding);
  await leased;
  const row = await storeImage(ctx, {
    png,
    thumbnail,
    width: input.width,
    height: input.height,
    userId: input.userId,
    boardId: input.boardId,
    queueItemId: input.queueItemId,
    sessionId: input.sessionId,
    nodeId: input.nodeId,
    isIntermediate: input.isIntermediate,
    metadata: input.metadata,
    onUnknownBoard: 'uncategorize',
    onTimed,
  });
  return toImageDto(ctx, row);
}
