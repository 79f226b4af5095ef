import { AppError } from '../../common/errors/app-error';
import type { SessionRevocations } from '../sessions/session-revocations';
import type { AdminPrincipal } from './admin-principal';

/** Live tails one console session may have open at once: a few tabs. More is a script, or tabs left behind. */
export const STREAMS_PER_SESSION = 3;
/**
 * Live tails this console serves at once, whoever opened them. Each holds memory and takes its share of every
 * turn handed out, in the process that answers the webhooks.
 */
export const STREAMS_PER_PROCESS = 50;
/** How often the streams are pinged (so proxies keep a quiet one open) and their session's sign-out is read. */
export const HEARTBEAT_MS = 15_000;

/** An open stream, as the heartbeat of its session drives it. */
export interface TailStream {
  ping(): void;
  /** Ends the stream: its session was signed out, expired, or whether it was signed out could not be read. */
  end(): void;
}

/**
 * A stream's place, taken before it starts: attached to the stream once it runs, released on every way it ends
 * (releasing again does nothing).
 */
export interface TailStreamSlot {
  attach(stream: TailStream): void;
  release(): void;
}

/** The open streams of one session, and the one heartbeat they share. */
interface SessionStreams {
  readonly principal: AdminPrincipal | undefined;
  readonly streams: Set<TailStream>;
  slots: number;
  heartbeat?: NodeJS.Timeout;
  /** A sign-out check on its way: the next beat does not start another. */
  checking: boolean;
}

/**
 * The live tails this console serves: so many per session (429 past that) and so many in all (503), and one
 * heartbeat per session, which reads whether the session was signed out once for all of its streams.
 */
export class TailStreams {
  private readonly sessions = new Map<string, SessionStreams>();
  private open = 0;
  private stopListening?: () => void;

  constructor(private readonly revocations: SessionRevocations) {}

  /** Throws RATE_LIMITED (429) when the session has its share of streams open, OVERLOADED (503) when all are. */
  admit(principal: AdminPrincipal | undefined): TailStreamSlot {
    const key = principal?.sessionId ?? '';
    const known = this.sessions.get(key);
    if (known && known.slots >= STREAMS_PER_SESSION) {
      throw new AppError(
        'RATE_LIMITED',
        `This session has ${STREAMS_PER_SESSION} live tails open, the most one session may have: ` +
          'turn Live off in another tab (or close it), then try again.',
        [],
        { 'Retry-After': String(HEARTBEAT_MS / 1000) },
      );
    }
    if (this.open >= STREAMS_PER_PROCESS) {
      throw new AppError(
        'OVERLOADED',
        `This console serves ${STREAMS_PER_PROCESS} live tails already, the most it serves at once; try again shortly.`,
        [],
        { 'Retry-After': String((2 * HEARTBEAT_MS) / 1000) },
      );
    }
    const session = known ?? this.start(key, principal);
    session.slots++;
    this.open++;
    let attached: TailStream | undefined;
    let released = false;
    let expiry: NodeJS.Timeout | undefined;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(expiry);
      if (attached) session.streams.delete(attached);
      this.open--;
      if (--session.slots === 0) this.stop(key, session);
    };
    return {
      attach: (stream) => {
        if (released) return stream.end();
        attached = stream;
        session.streams.add(stream);
        if (principal?.expiresAt !== undefined) {
          expiry = setTimeout(() => stream.end(), Math.max(0, principal.expiresAt - Date.now()));
        }
      },
      release,
    };
  }

  /** How many streams are open (a session's, or all). */
  count(sessionId?: string): number {
    return sessionId === undefined ? this.open : (this.sessions.get(sessionId)?.slots ?? 0);
  }

  private start(key: string, principal: AdminPrincipal | undefined): SessionStreams {
    const session: SessionStreams = { principal, streams: new Set(), slots: 0, checking: false };
    session.heartbeat = setInterval(() => this.beat(session), HEARTBEAT_MS);
    this.sessions.set(key, session);
    this.stopListening ??= this.revocations.onRevoked((sessionId) => {
      const revoked = this.sessions.get(sessionId);
      if (revoked) this.endAll(revoked);
    });
    return session;
  }

  private stop(key: string, session: SessionStreams): void {
    clearInterval(session.heartbeat);
    this.sessions.delete(key);
    if (this.sessions.size === 0) {
      this.stopListening?.();
      this.stopListening = undefined;
    }
  }

  private beat(session: SessionStreams): void {
    const principal = session.principal;
    if (principal?.via !== 'oidc') return this.pingAll(session);
    if (session.checking) return;
    session.checking = true;
    // Unknown counts as signed out, as it does for a request: the browser reconnects, and the guard decides.
    this.revocations.isRevoked(principal.sessionId).then(
      (revoked) => {
        session.checking = false;
        if (revoked) this.endAll(session);
        else this.pingAll(session);
      },
      () => {
        session.checking = false;
        this.endAll(session);
      },
    );
  }

  private pingAll(session: SessionStreams): void {
    for (const stream of [...session.streams]) stream.ping();
  }

  private endAll(session: SessionStreams): void {
    for (const stream of [...session.streams]) stream.end();
  }
}
