import { inArray } from 'drizzle-orm';
import type { DbOrTx } from '../core/db.ts';
import type { ChannelPort, PendingEvents, ServerEvent } from '../core/events.ts';
import { type Logger, loggableError } from '../core/logger.ts';
import type { Notifier } from '../core/notifier.ts';
import { revokedSessions, users } from '../db/schema/index.ts';

/** The `NOTIFY` channel on which processes tell each other which streams to end. */
export const REVOKE_NOTIFY = 'easel_revoke';

/** What was revoked: a login session (logout), or a user's tokens older than `minEpoch` (all without one). */
export type Revocation =
  | { kind: 'session'; sid: string }
  | { kind: 'user'; userId: string; minEpoch?: number };

/** A notification's payload as a `Revocation` (with the id of the process that sent it), or undefined. */
export function parseRevocation(payload: string): (Revocation & { origin: string }) | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || typeof v.origin !== 'string') {
    return undefined;
  }
  if (v.kind === 'session' && typeof v.sid === 'string') {
    return { kind: 'session', sid: v.sid, origin: v.origin };
  }
  if (v.kind === 'user' && typeof v.userId === 'string') {
    if (v.minEpoch !== undefined && !Number.isInteger(v.minEpoch)) {
      return undefined;
    }
    return {
      kind: 'user',
      userId: v.userId,
      ...(v.minEpoch === undefined ? {} : { minEpoch: v.minEpoch as number }),
      origin: v.origin,
    };
  }
  return undefined;
}

export interface RevocationRelayOptions {
  /** This process's hub: publishes, ends the streams it holds, and lists their tokens. */
  hub: ChannelPort & { openTokens(): { userId: string; sid: string; epoch: number }[] };
  notifier: Notifier;
  /** Read when listening (re)starts, to end the streams whose revocation was missed meanwhile. */
  db: DbOrTx;
  logger: Logger;
}

/**
 * What services see of the channels when several processes share the database (API.md section 8): events
 * are published as the hub publishes them; a revocation (logout, password change, demotion, deactivation,
 * deletion), which services announce after their transaction commits, ends this process's streams and is
 * sent to every other process with `NOTIFY easel_revoke`. Each process listens and ends its own streams,
 * which also feeds its hub's memory of recent revocations (a stream authenticated before the revocation
 * and opened after it is refused). Whenever listening (re)starts, after a lost connection, it checks the
 * tokens of this process's open streams against the database and ends those revoked meanwhile.
 * @example const relay = new RevocationRelay({ hub, notifier, logger }); await relay.start(); deps.revocations = relay;
 */
export class RevocationRelay implements ChannelPort {
  readonly #origin = crypto.randomUUID();
  #stop: (() => Promise<void>) | undefined;
  #sending: Promise<void> = Promise.resolve();

  constructor(private readonly opts: RevocationRelayOptions) {}

  /** Starts listening; resolves once it listens. */
  async start(): Promise<void> {
    this.#stop ??= await this.opts.notifier.listen(
      REVOKE_NOTIFY,
      (payload) => this.#receive(payload),
      () => {
        this.catchUp().catch((err: unknown) => {
          this.opts.logger.error('revocation catch-up failed', loggableError(err));
        });
      },
    );
  }

  /**
   * Ends the open streams whose token was revoked while no notification could arrive: its session logged
   * out, older than the user's epoch, or of a deleted or inactive account. Returns how many sessions and
   * users it revoked.
   */
  async catchUp(): Promise<number> {
    const open = this.opts.hub.openTokens();
    if (open.length === 0) {
      return 0;
    }
    const { db, hub } = this.opts;
    const sids = [...new Set(open.map((t) => t.sid))];
    const userIds = [...new Set(open.map((t) => t.userId))];
    const revoked = new Set(
      (
        await db
          .select({ sid: revokedSessions.sid })
          .from(revokedSessions)
          .where(inArray(revokedSessions.sid, sids))
      ).map((r) => r.sid),
    );
    const accounts = new Map(
      (
        await db
          .select({ userId: users.userId, epoch: users.epoch, isActive: users.isActive })
          .from(users)
          .where(inArray(users.userId, userIds))
      ).map((r) => [r.userId, r]),
    );
    let ended = 0;
    for (const sid of revoked) {
      hub.closeSession(sid);
      ended++;
    }
    for (const userId of userIds) {
      const account = accounts.get(userId);
      if (!account?.isActive) {
        hub.closeUser(userId);
        ended++;
      } else if (open.some((t) => t.userId === userId && t.epoch < account.epoch)) {
        hub.closeUser(userId, account.epoch);
        ended++;
      }
    }
    return ended;
  }

  async stop(): Promise<void> {
    const stop = this.#stop;
    this.#stop = undefined;
    await this.#sending;
    await stop?.();
  }

  publish(event: ServerEvent): void {
    this.opts.hub.publish(event);
  }

  // A transaction's events go through the hub's channel log in the transaction (`withTransaction`): without
  // these, services' events were written after their commit, in a transaction of their own.
  appended(): Promise<void> {
    return this.opts.hub.appended?.() ?? Promise.resolve();
  }

  takePending(): Promise<PendingEvents> {
    return this.opts.hub.takePending?.() ?? Promise.resolve({ events: [], release: () => {} });
  }

  async appendIn(db: DbOrTx, events: ServerEvent[]): Promise<void> {
    await this.opts.hub.appendIn?.(db, events);
  }

  committed(events: ServerEvent[]): void {
    if (this.opts.hub.committed) {
      this.opts.hub.committed(events);
    } else {
      for (const event of events) {
        this.opts.hub.publish(event);
      }
    }
  }

  closeSession(sid: string): void {
    this.opts.hub.closeSession(sid);
    this.#announce({ kind: 'session', sid });
  }

  closeUser(userId: string, minEpoch?: number): void {
    this.opts.hub.closeUser(userId, minEpoch);
    this.#announce({ kind: 'user', userId, ...(minEpoch === undefined ? {} : { minEpoch }) });
  }

  /** Resolves once every announcement made so far was sent (or failed and was logged). */
  sent(): Promise<void> {
    return this.#sending;
  }

  #announce(revocation: Revocation): void {
    const payload = JSON.stringify({ ...revocation, origin: this.#origin });
    this.#sending = this.#sending
      .then(() => this.opts.notifier.notify(REVOKE_NOTIFY, payload))
      .catch((err: unknown) => {
        this.opts.logger.error('revocation not announced to other processes', {
          kind: revocation.kind,
          error: (err as Error).message,
        });
      });
  }

  #receive(payload: string): void {
    const revocation = parseRevocation(payload);
    if (!revocation) {
      this.opts.logger.warn('ignored a malformed revocation notice', {});
      return;
    }
    if (revocation.origin === this.#origin) {
      return; // ended here already
    }
    if (revocation.kind === 'session') {
      this.opts.hub.closeSession(revocation.sid);
    } else {
      this.opts.hub.closeUser(revocation.userId, revocation.minEpoch);
    }
  }
}
