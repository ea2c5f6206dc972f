import { requireActor } from '../../core/actor.ts';
import type { ServiceContext } from '../../core/context.ts';
import { TooLargeError, UnsupportedTypeError, ValidationError } from '../../core/errors.ts';
import { ImageDecodeError } from '../../core/images.ts';
import { toImageDto } from '../../images/image-dto.ts';
import { MAX_UPLOAD_BYTES } from '../../images/schemas.ts';
import { sniffImageFormat } from '../../images/sniff.ts';
import { storeImage } from '../../images/store.ts';
import { assertOwnedBoard } from './internal.ts';

/**
 * Stores an uploaded PNG, JPEG or WebP as the caller's image, re-encoded as PNG without its metadata. The
 * type comes from the file's first bytes: anything else is 415; over 20 MiB is 413; a file that does not
 * decode is 422 at `file`; a board that is not the caller's is 422 at `board_id`.
 * @example const image = await uploadImage({ ctx, input: { file, boardId: null } });
 */
export async function uploadImage({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { file: Blob; boardId: string | null };
}) {
  const actor = requireActor(ctx.actor);
  if (input.file.size > MAX_UPLOAD_BYTES) {
    throw new TooLargeError(`The file is larger than ${MAX_UPLOAD_BYTES} bytes.`);
  }
  const bytes = new Uint8Array(await input.file.arrayBuffer());
  if (sniffImageFormat(bytes) === null) {
    throw new UnsupportedTypeError('Only PNG, JPEG and WebP images can be uploaded.');
  }
  const unknownBoard = () =>
    new ValidationError([{ path: 'board_id', message: `unknown board "${input.boardId}"` }]);
  if (input.boardId !== null) {
    await assertOwnedBoard(ctx.db, input.boardId, actor.userId, 'board_id');
  }
  let decoded: Awaited<ReturnType<ServiceContext['images']['decodeUpload']>>;
  try {
    decoded = await ctx.images.decodeUpload(bytes);
  } catch (err) {
    if (err instanceof ImageDecodeError) {
      throw new ValidationError([{ path: 'file', message: 'the file is not a decodable image' }]);
    }
    throw err;
  }
  const row = await storeImage(ctx, {
    ...decoded,
    userId: actor.userId,
    boardId: input.boardId,
    queueItemId: null,
    sessionId: null,
    nodeId: null,
    isIntermediate: false,
    metadata: null,
    onUnknownBoard: unknownBoard,
  });
  return toImageDto(ctx, row);
}
