import { describe, expect } from 'vitest';
import { connectedAs, EVENTS, it, itemEvents, RETRY, test } from '../helpers/events.ts';
import { type Harness, problem } from '../helpers/harness.ts';
import { enqueue } from '../helpers/queue.ts';
import { runCommonAuthTests } from '../helpers/security.ts';
import { SseReader } from '../helpers/sse.ts';
import { forgeToken } from '../helpers/tokens.ts';

describe('connecting', () => {
  it('answers text/event-stream: retry: 3000, then connected {connection_id, user_id, is_admin}', async ({
    streams,
    connect,
    h,
    alice,
    admin,
  }) => {
    const res = await h.get(EVENTS, { token: alice.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    expect(res.headers.get('x-request-id')).toEqual(expect.any(String));
    expect(res.headers.get('x-refreshed-token')).toBeNull();
    const sse = new SseReader(res.body);
    streams.push(sse);
    expect(await sse.untilEvent('connected')).toEqual([RETRY, connectedAs(alice.user.user_id, false)]);
    expect(sse.text).toMatch(/^retry: 3000\n\nevent: connected\ndata: \{.*\}\n\n$/);

    const asAdmin = await connect({ token: admin.token, query: '?queue_id=default' });
    expect(asAdmin.frames).toEqual([RETRY, connectedAs(admin.user.user_id, true)]);
    const anonymous = await connect();
    expect(anonymous.frames).toEqual([RETRY, connectedAs('system', false)]);
    const ids = [sse, asAdmin, anonymous].map(
      (s) => (s.frames[1]?.data as { connection_id?: string } | undefined)?.connection_id,
    );
    expect(new Set(ids).size).toBe(3);
  });

  it('refuses an invalid, expired or revoked token, or a non-bearer header, with 401 problem+json', async ({
    h,
    alice,
    admin,
  }) => {
    const loggedOut = await h.createUser();
    expect((await h.post('/api/v1/auth/logout', { token: loggedOut.token })).status).toBe(204);
    const inactive = await h.createUser();
    expect(
      (
        await h.patch(`/api/v1/users/${inactive.user.user_id}`, {
          token: admin.token,
          json: { is_active: false },
        })
      ).status,
    ).toBe(200);
    const nowS = Math.floor(h.clock.now().getTime() / 1000);
    const cases: [Record<string, string>, string, string][] = [
      [{ Authorization: 'Bearer not.a.jwt' }, 'unauthorized', 'The token is invalid.'],
      [
        {
          Authorization: `Bearer ${await forgeToken(alice.user.user_id, { nowS: nowS - 7200, lifetimeS: 3600 })}`,
        },
        'token_expired',
        'The token has expired.',
      ],
      [{ Authorization: `Bearer ${loggedOut.token}` }, 'unauthorized', 'The token has been revoked.'],
      [{ Authorization: `Bearer ${inactive.token}` }, 'unauthorized', 'The account is deleted or inactive.'],
      [{ Authorization: `Basic ${alice.token}` }, 'unauthorized', 'A bearer token is required.'],
      [{ Authorization: '' }, 'unauthorized', 'A bearer token is required.'],
    ];
    for (const [headers, code, detail] of cases) {
      const res = await h.get(EVENTS, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const title = code === 'token_expired' ? 'Token expired' : 'Unauthorized';
      expect(await res.json()).toEqual(problem(res, code, 401, title, detail));
    }
    expect(h.channels.stats().connections).toBe(0);
  });

  it('an unknown queue_id is 404, with or without a token', async ({ h, alice }) => {
    for (const token of [alice.token, undefined]) {
      const res = await h.get(`${EVENTS}?queue_id=other`, { token });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toEqual(
        problem(res, 'not_found', 404, 'Not found', 'Queue other was not found'),
      );
    }
    expect(h.channels.stats().connections).toBe(0);
  });
});

describe('tickets (for EventSource)', () => {
  async function ticketFor(h: Harness, token: string) {
    const res = await h.post(`${EVENTS}/ticket`, { token });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ticket: string; expires_in: number };
    expect(body).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expires_in: 60 });
    return body.ticket;
  }

  const refusedTicket = async (
    h: Harness,
    ticket: string,
    detail = 'The ticket is unknown, used or expired.',
  ) => {
    const res = await h.get(`${EVENTS}?ticket=${ticket}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual(problem(res, 'unauthorized', 401, 'Unauthorized', detail));
  };

  it('POST /events/ticket → {ticket, expires_in: 60}; ?ticket= opens the stream as its user, once', async ({
    connect,
    h,
    alice,
    admin,
  }) => {
    const ticket = await ticketFor(h, alice.token);
    const sse = await connect({ query: `?ticket=${ticket}` });
    expect(sse.frames).toEqual([RETRY, connectedAs(alice.user.user_id, false)]);
    await refusedTicket(h, ticket);
    const adminTicket = await ticketFor(h, admin.token);
    expect(adminTicket).not.toBe(ticket);
    expect((await connect({ query: `?queue_id=default&ticket=${adminTicket}` })).frames).toEqual([
      RETRY,
      connectedAs(admin.user.user_id, true),
    ]);
    // The ticket's stream is the user's channel: it gets the user's events.
    const { batch } = await enqueue(h, alice.token);
    expect(itemEvents(await sse.untilEvent('batch_enqueued')).map((f) => f.data)).toEqual([
      expect.objectContaining({ batch_id: batch.batch_id, user_id: alice.user.user_id }),
    ]);
  });

  it('an expired ticket (61 s) or an unknown one is 401; asking for one needs a token', async ({
    h,
    alice,
  }) => {
    const ticket = await ticketFor(h, alice.token);
    h.clock.advance(61_000);
    await refusedTicket(h, ticket);
    await refusedTicket(h, 'not-a-ticket');
    const res = await h.post(`${EVENTS}/ticket`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(
      problem(res, 'unauthorized', 401, 'Unauthorized', 'A bearer token is required.'),
    );
  });

  it('a ticket asked for before its token was revoked is refused', async ({ h, admin }) => {
    const user = await h.createUser();
    const ticket = await ticketFor(h, user.token);
    expect((await h.post('/api/v1/auth/logout', { token: user.token })).status).toBe(204);
    await refusedTicket(h, ticket, 'The token has been revoked.');

    const demoted = await h.createUser({ isAdmin: true });
    const adminTicket = await ticketFor(h, demoted.token);
    const patch = await h.patch(`/api/v1/users/${demoted.user.user_id}`, {
      token: admin.token,
      json: { is_admin: false },
    });
    expect(patch.status).toBe(200);
    await refusedTicket(h, adminTicket, 'The token has been revoked.');
    expect(h.channels.stats().connections).toBe(0);
  });
});

// Every user may ask for a ticket of their own: no other user's resource to test.
runCommonAuthTests(test, 'POST /api/v1/events/ticket', {
  otherUser: 'none',
  prepareRequest: async () => ({ method: 'POST', path: `${EVENTS}/ticket` }),
});
