import { createRoute, z } from '@hono/zod-openapi';
import { bearer, createRouter, jsonBody, jsonResponse, problems } from '../http/openapi.ts';
import { serviceContext } from '../http/service-context.ts';
import {
  BoardDTO,
  CreateBoardInput,
  createBoard,
  DeleteBoardQuery,
  deleteBoard,
  ListBoardsQuery,
  listBoardImageNames,
  listBoards,
  UpdateBoardInput,
  updateBoard,
} from '../services/boards/index.ts';

const tags = ['boards'];
const base = { tags, security: bearer };
const BoardParam = z.object({ board_id: z.string().min(1).max(200) });
const bodyProblems = problems('bad_request', 'validation_failed', 'unauthorized', 'unsupported_media_type');
const ownProblems = problems('validation_failed', 'unauthorized', 'not_found');

const listRoute = createRoute({
  ...base,
  method: 'get',
  path: '/',
  operationId: 'list_boards',
  summary: 'Your boards, newest first, with image counts and covers (admins: `user_id=<id>|all`)',
  request: { query: ListBoardsQuery },
  responses: {
    200: jsonResponse(z.array(BoardDTO), 'Boards'),
    ...problems('validation_failed', 'unauthorized', 'forbidden'),
  },
});
const createBoardRoute = createRoute({
  ...base,
  method: 'post',
  path: '/',
  operationId: 'create_board',
  summary: 'Create a board',
  request: { body: jsonBody(CreateBoardInput) },
  responses: { 201: jsonResponse(BoardDTO, 'The new board'), ...bodyProblems },
});
const updateRoute = createRoute({
  ...base,
  method: 'patch',
  path: '/{board_id}',
  operationId: 'update_board',
  summary: 'Rename a board (owner or admin)',
  request: { params: BoardParam, body: jsonBody(UpdateBoardInput) },
  responses: { 200: jsonResponse(BoardDTO, 'The board'), ...bodyProblems, ...problems('not_found') },
});
const deleteRoute = createRoute({
  ...base,
  method: 'delete',
  path: '/{board_id}',
  operationId: 'delete_board',
  summary: 'Delete a board; its images become uncategorized, or go too with `delete_images=true`',
  request: { params: BoardParam, query: DeleteBoardQuery },
  responses: { 204: { description: 'Deleted' }, ...ownProblems },
});
const imageNamesRoute = createRoute({
  ...base,
  method: 'get',
  path: '/{board_id}/image_names',
  operationId: 'list_all_board_image_names',
  summary: 'The names of a board’s images, newest first (owner or admin)',
  request: { params: BoardParam },
  responses: { 200: jsonResponse(z.array(z.string()), 'Image names'), ...ownProblems },
});

export const boardsRouter = createRouter()
  .openapi(listRoute, async (c) =>
    c.json(await listBoards({ ctx: serviceContext(c), input: c.req.valid('query') }), 200),
  )
  .openapi(createBoardRoute, async (c) =>
    c.json(await createBoard({ ctx: serviceContext(c), input: c.req.valid('json') }), 201),
  )
  .openapi(updateRoute, async (c) => {
    const input = { boardId: c.req.valid('param').board_id, patch: c.req.valid('json') };
    return c.json(await updateBoard({ ctx: serviceContext(c), input }), 200);
  })
  .openapi(deleteRoute, async (c) => {
    const input = {
      boardId: c.req.valid('param').board_id,
      deleteImages: c.req.valid('query').delete_images,
    };
    await deleteBoard({ ctx: serviceContext(c), input });
    return c.body(null, 204);
  })
  .openapi(imageNamesRoute, async (c) =>
    c.json(
      await listBoardImageNames({
        ctx: serviceContext(c),
        input: { boardId: c.req.valid('param').board_id },
      }),
      200,
    ),
  );
