import { z } from '@hono/zod-openapi';
import { changesSomething, NOTHING_TO_CHANGE } from '../core/errors.ts';

/** The most bytes an uploaded file may have (20 MiB). */
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;
/** Thumbnails fit in this many pixels each way. */
export const THUMBNAIL_SIZE = 256;
/** The PNG text chunk that carries the generation parameters (InvokeAI's keyword). */
export const METADATA_KEYWORD = 'invokeai_metadata';

export const ImageDTO = z
  .object({
    image_name: z.string(),
    image_url: z.string(),
    thumbnail_url: z.string(),
    width: z.number().int(),
    height: z.number().int(),
    board_id: z.string().nullable(),
    user_id: z.string(),
    queue_item_id: z.number().int().nullable(),
    session_id: z.string().nullable(),
    node_id: z.string().nullable(),
    is_intermediate: z.boolean(),
    starred: z.boolean(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    created_at: z.string(),
  })
  .openapi('ImageDTO');
export type ImageDTO = z.infer<typeof ImageDTO>;

/** `true`/`false` in a query string (or a boolean, when a parsed query is parsed again by the service). */
const BoolParam = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

/** Whose images or boards a list shows: yourself by default; admins may name a user or `all`. */
export const OwnerScope = z.string().min(1).max(200).optional();

export const ListImagesQuery = z.object({
  board_id: z.string().min(1).max(200).optional(),
  starred: BoolParam.optional(),
  is_intermediate: BoolParam.optional(),
  offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  user_id: OwnerScope,
});
export type ListImagesQuery = z.input<typeof ListImagesQuery>;

export const ImagesPage = z
  .object({
    items: z.array(ImageDTO),
    offset: z.number().int(),
    limit: z.number().int(),
    total: z.number().int(),
  })
  .openapi('ImagesPage');
export type ImagesPage = z.infer<typeof ImagesPage>;

export const UpdateImageInput = z
  .strictObject({
    board_id: z.string().min(1).max(200).nullable().optional(),
    starred: z.boolean().optional(),
  })
  .refine(changesSomething, { message: NOTHING_TO_CHANGE })
  .openapi('UpdateImageInput');
export type UpdateImageInput = z.input<typeof UpdateImageInput>;
