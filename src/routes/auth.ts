import { createRoute } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ConflictError, RetryLaterError } from '../core/errors.ts';
import { bearer, createRouter, jsonBody, jsonResponse, problems } from '../http/openapi.ts';
import { serviceContext } from '../http/service-context.ts';
import type { AppEnv } from '../http/types.ts';
import {
  AuthStatus,
  getAuthStatus,
  getMe,
  LoginInput,
  login,
  logout,
  SetupInput,
  setupAdmin,
  TokenResponse,
  UpdateMeInput,
  updateMe,
} from '../services/auth/index.ts';
import { User } from '../services/users/index.ts';

const tags = ['auth'];

const statusRoute = createRoute({
  method: 'get',
  path: '/status',
  operationId: 'get_setup_status',
  tags,
  summary: 'Whether set-up is needed and whether multi-user mode is on',
  responses: { 200: jsonResponse(AuthStatus, 'Status') },
});

const setupRoute = createRoute({
  method: 'post',
  path: '/setup',
  operationId: 'setup_admin',
  tags,
  summary: 'Create the first admin (only while no user exists)',
  request: { body: jsonBody(SetupInput) },
  responses: {
    201: jsonResponse(TokenResponse, 'The admin and a token'),
    ...problems('bad_request', 'validation_failed', 'already_set_up', 'unsupported_media_type'),
  },
});

const loginRoute = createRoute({
  method: 'post',
  path: '/login',
  operationId: 'login',
  tags,
  summary: 'Exchange email and password for a token',
  request: { body: jsonBody(LoginInput) },
  responses: {
    200: jsonResponse(TokenResponse, 'A token'),
    ...problems('bad_request', 'validation_failed', 'invalid_credentials', 'rate_limited', 'conflict'),
  },
});

const logoutRoute = createRoute({
  method: 'post',
  path: '/logout',
  operationId: 'logout',
  tags,
  security: bearer,
  summary:
    'Revoke the login session (sid) of this token, with every token refreshed in it; its streams close',
  responses: { 204: { description: 'Logged out' }, ...problems('unauthorized') },
});

const meRoute = createRoute({
  method: 'get',
  path: '/me',
  operationId: 'get_current_user',
  tags,
  security: bearer,
  summary: 'The current user',
  responses: { 200: jsonResponse(User, 'The current user'), ...problems('unauthorized') },
});

const updateMeRoute = createRoute({
  method: 'patch',
  path: '/me',
  operationId: 'update_current_user',
  tags,
  security: bearer,
  summary: 'Change the display name or password (returns the replacement token in X-Refreshed-Token)',
  request: { body: jsonBody(UpdateMeInput) },
  responses: {
    200: jsonResponse(User, 'The updated user'),
    ...problems('bad_request', 'validation_failed', 'unauthorized', 'conflict'),
  },
});

function refuseInSingleMode(c: Context<AppEnv>) {
  if (c.var.deps.config.authMode === 'single') {
    throw new ConflictError('Easel runs in single-user mode: there is no login.');
  }
}

/**
 * A refused login (429, or 503 with hashing at its bound) is answered after `config.loginRefusalDelayMs`:
 * a client that retries as soon as it is answered (a flood over a few connections) then costs the server
 * a few requests a second, not hundreds, and the other routes keep their latency.
 */
async function slowRefusal<T>(c: Context<AppEnv>, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    const delay = c.var.deps.config.loginRefusalDelayMs ?? 0;
    if (delay > 0 && err instanceof RetryLaterError) {
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    throw err;
  }
}

export const authRouter = createRouter()
  .openapi(statusRoute, async (c) => {
    const status = await getAuthStatus({
      ctx: serviceContext(c),
      input: { multiuser: c.var.deps.config.authMode === 'multiuser' },
    });
    return c.json(status, 200);
  })
  .openapi(setupRoute, async (c) => {
    refuseInSingleMode(c);
    const user = await setupAdmin({ ctx: serviceContext(c), input: c.req.valid('json') });
    const issued = await c.var.deps.tokens.issue(
      { userId: user.user_id, email: user.email, isAdmin: true, epoch: 0 },
      false,
    );
    return c.json({ token: issued.token, expires_in: issued.expiresIn, user }, 201);
  })
  .openapi(loginRoute, async (c) => {
    refuseInSingleMode(c);
    const client = c.var.deps.clientAddress(c) ?? 'unknown';
    const input = c.req.valid('json');
    const result = await slowRefusal(c, () => login({ ctx: serviceContext(c), input, client }));
    return c.json(result, 200);
  })
  .openapi(logoutRoute, async (c) => {
    await logout({ ctx: serviceContext(c) });
    return c.body(null, 204);
  })
  .openapi(meRoute, async (c) => c.json(await getMe({ ctx: serviceContext(c) }), 200))
  .openapi(updateMeRoute, async (c) => {
    const { user, replacementToken } = await updateMe({ ctx: serviceContext(c), input: c.req.valid('json') });
    c.set('refreshedToken', replacementToken);
    return c.json(user, 200);
  });
