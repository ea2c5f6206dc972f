import { z } from '@hono/zod-openapi';

export const BoardName = z.string().trim().min(1).max(300);

export const BoardDTO = z
  .object({
    board_id: z.string(),
    board_name: z.string(),
    user_id: z.string(),
    image_count: z.number().int(),
    cover_image_name: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi('BoardDTO');
export type BoardDTO = z.infer<typeof BoardDTO>;

export const CreateBoardInput = z.strictObject({ board_name: BoardName }).openapi('CreateBoardInput');
export type CreateBoardInput = z.input<typeof CreateBoardInput>;

export const UpdateBoardInput = z.strictObject({ board_name: BoardName }).openapi('UpdateBoardInput');
export type UpdateBoardInput = z.input<typeof UpdateBoardInput>;

export const ListBoardsQuery = z.object({ user_id: z.string().min(1).max(200).optional() });
export type ListBoardsQuery = z.input<typeof ListBoardsQuery>;

export const DeleteBoardQuery = z.object({
  delete_images: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});
