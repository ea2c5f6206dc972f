import { createRoute, z } from '@hono/zod-openapi';
import type { AuthUser } from '../core/actor.ts';
import { AuthError } from '../core/errors.ts';
import { bearer, createRouter, jsonResponse, problems } from '../http/openapi.ts';
import { serviceContext } from '../http/service-context.ts';
import { authenticateClaims } from '../services/auth/authenticate.ts';
import { assertQueue } from '../services/queue/internal.ts';
import { SYSTEM_USER_ID } from '../services/users/user-dto.ts';

const tags = ['events'];

const Ticket = z.object({ ticket: z.string(), expires_in: z.number().int() }).openapi('EventTicket');

const ticketRoute = createRoute({
  method: 'post',
  path: '/ticket',
  operationId: 'create_event_ticket',
  tags,
  security: bearer,
  summary: 'A single-use, 60-second ticket for EventSource (which cannot send headers)',
  responses: { 200: jsonResponse(Ticket, 'The ticket'), ...problems('unauthorized') },
});

const StreamQuery = z.object({
  queue_id: z.string().min(1).max(100).default('default'),
  ticket: z.string().min(1).max(200).optional(),
  last_event_id: z.string().min(1).max(200).optional(),
});

const streamRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'stream_events',
  tags,
  summary:
    'The event stream (text/event-stream): a bearer token, a ticket, or nothing (anonymous: queue-wide events only)',
  request: { query: StreamQuery },
  responses: {
    200: { description: 'Server-sent events', content: { 'text/event-stream': { schema: z.string() } } },
    ...problems('validation_failed', 'unauthorized', 'not_found'),
  },
});

export const eventsRouter = createRouter()
  .openapi(ticketRoute, async (c) => c.json(await c.var.deps.tickets.issue(c.var.user), 200))
  .openapi(streamRoute, async (c) => {
    const { channels, tickets, streamSinks } = c.var.deps;
    const query = c.req.valid('query');
    assertQueue(query.queue_id);
    let user: AuthUser | undefined = c.var.user;
    if (!user && query.ticket !== undefined) {
      const holder = await tickets.consume(query.ticket);
      if (!holder) {
        throw new AuthError('unauthorized', 'The ticket is unknown, used or expired.');
      }
      // The token the ticket was asked with may have been revoked since (logout, password change, demotion,
      // deactivation, deletion): check its claims again, and take the account's rights as they are now.
      const token = holder.user.token;
      user = token
        ? await authenticateClaims({ ctx: serviceContext(c), input: { userId: holder.user.userId, token } })
        : holder.user;
    }
    const headers = {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      'X-Accel-Buffering': 'no',
    };
    if (c.req.method === 'HEAD') {
      return c.body(null, 200, headers); // the head only: no stream is opened
    }
    const anonymous = !user;
    const { sink, body } = streamSinks.open(c);
    channels.connect({
      anonymous,
      sink,
      lastEventId: c.req.header('Last-Event-ID') ?? query.last_event_id,
      info: {
        connectionId: crypto.randomUUID(),
        userId: user?.userId ?? SYSTEM_USER_ID,
        isAdmin: user?.isAdmin ?? false,
        token: user?.token ? { sid: user.token.sid, exp: user.token.exp, epoch: user.token.epoch } : null,
      },
    });
    // No body when the sink writes the response itself (Node): the app's final headers go with its frames.
    return body ? c.body(body, 200, headers) : c.body(null, 200, headers);
  });
