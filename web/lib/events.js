import { createEventTicket } from '../api/events.js';
import { ApiError } from './api.js';
import { SERVER_EVENTS } from './constants.js';
import { readToken } from './session.js';

const MAX_RETRY_MS = 30_000;

/**
 * @typedef {object} StreamHandlers
 * @property {(name: import('./constants.js').ServerEvent, data: any) => void} onEvent a channel event (API.md section 5)
 * @property {() => void} onResync the missed events are gone: refetch everything
 * @property {(state: 'live' | 'reconnecting') => void} onState
 * @property {() => void} onSessionEnd the stream's token ended while it was still the session's token
 */

/**
 * Opens the event stream with a fresh single-use ticket for every connection, and after a drop reconnects
 * (1 s, doubling to 30 s) with `last_event_id`, so the channel replays what was missed. `auth_expired` ends
 * the session if the stream's token is still the stored one; after a sliding refresh it just reconnects with
 * the new token (the ticket request ends the session itself if that one is refused too). Returns `close`.
 * @param {StreamHandlers} handlers
 */
export function openEventStream(handlers) {
  /** @type {EventSource | null} */
  let source = null;
  let lastEventId = '';
  let closed = false;
  let retryMs = 1000;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;

  const retry = () => {
    source?.close();
    source = null;
    if (closed) {
      return;
    }
    handlers.onState('reconnecting');
    timer = setTimeout(connect, retryMs);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  };

  async function connect() {
    const tokenUsed = readToken();
    let ticket;
    try {
      ticket = (await createEventTicket()).ticket;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401)) {
        retry();
      }
      return;
    }
    if (closed) {
      return;
    }
    const params = new URLSearchParams({ queue_id: 'default', ticket });
    if (lastEventId) {
      params.set('last_event_id', lastEventId);
    }
    const es = new EventSource(`/api/v1/events?${params}`);
    source = es;
    es.addEventListener('connected', () => {
      retryMs = 1000;
      handlers.onState('live');
    });
    es.addEventListener('resync', () => handlers.onResync());
    es.addEventListener('auth_expired', () => {
      es.close();
      if (readToken() === tokenUsed) {
        closed = true;
        handlers.onSessionEnd();
      } else {
        retry();
      }
    });
    for (const name of SERVER_EVENTS) {
      es.addEventListener(name, (e) => {
        lastEventId = e.lastEventId || lastEventId;
        handlers.onEvent(name, JSON.parse(e.data));
      });
    }
    // A used ticket cannot reopen the stream, so EventSource's own retry is replaced by a new ticket.
    es.onerror = () => {
      if (source === es) {
        retry();
      }
    };
  }

  void connect();
  return () => {
    closed = true;
    clearTimeout(timer);
    source?.close();
  };
}
