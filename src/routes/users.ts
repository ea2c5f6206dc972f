import { createRoute, z } from '@hono/zod-openapi';
import { requireAdmin } from '../http/middleware/auth.ts';
import { bearer, createRouter, jsonBody, jsonResponse, problems } from '../http/openapi.ts';
import { serviceContext } from '../http/service-context.ts';
import {
  CreateUserInput,
  createUser,
  deleteUser,
  getUser,
  listUsers,
  UpdateUserInput,
  User,
  updateUser,
} from '../services/users/index.ts';

const tags = ['users'];
const UserIdParam = z.object({ user_id: z.string().min(1).max(200) });
const adminProblems = problems('unauthorized', 'forbidden');

const listRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'list_users',
  tags,
  security: bearer,
  summary: 'All users (admin)',
  responses: { 200: jsonResponse(z.array(User), 'Users, oldest first'), ...adminProblems },
});

const createUserRoute = createRoute({
  method: 'post',
  path: '/',
  operationId: 'create_user',
  tags,
  security: bearer,
  summary: 'Create a user (admin)',
  request: { body: jsonBody(CreateUserInput) },
  responses: {
    201: jsonResponse(User, 'The new user'),
    ...problems('bad_request', 'validation_failed', 'unauthorized', 'forbidden', 'conflict'),
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{user_id}',
  operationId: 'get_user',
  tags,
  security: bearer,
  summary: 'One user (admin)',
  request: { params: UserIdParam },
  responses: { 200: jsonResponse(User, 'The user'), ...problems('unauthorized', 'forbidden', 'not_found') },
});

const updateRoute = createRoute({
  method: 'patch',
  path: '/{user_id}',
  operationId: 'update_user',
  tags,
  security: bearer,
  summary: 'Change a user (admin); demotion, deactivation and password reset revoke their tokens',
  request: { params: UserIdParam, body: jsonBody(UpdateUserInput) },
  responses: {
    200: jsonResponse(User, 'The updated user'),
    ...problems('bad_request', 'validation_failed', 'unauthorized', 'forbidden', 'not_found', 'conflict'),
  },
});

const deleteRoute = createRoute({
  method: 'delete',
  path: '/{user_id}',
  operationId: 'delete_user',
  tags,
  security: bearer,
  summary: 'Delete a user (admin); their work and images stay',
  request: { params: UserIdParam },
  responses: {
    204: { description: 'Deleted' },
    ...problems('unauthorized', 'forbidden', 'not_found', 'conflict'),
  },
});

export const usersRouter = createRouter();
usersRouter.use('*', requireAdmin());
usersRouter
  .openapi(listRoute, async (c) => c.json(await listUsers({ ctx: serviceContext(c) }), 200))
  .openapi(createUserRoute, async (c) =>
    c.json(await createUser({ ctx: serviceContext(c), input: c.req.valid('json') }), 201),
  )
  .openapi(getRoute, async (c) =>
    c.json(await getUser({ ctx: serviceContext(c), input: { userId: c.req.valid('param').user_id } }), 200),
  )
  .openapi(updateRoute, async (c) => {
    const input = { userId: c.req.valid('param').user_id, patch: c.req.valid('json') };
    return c.json(await updateUser({ ctx: serviceContext(c), input }), 200);
  })
  .openapi(deleteRoute, async (c) => {
    await deleteUser({ ctx: serviceContext(c), input: { userId: c.req.valid('param').user_id } });
    return c.body(null, 204);
  });
