import * as pg from 'pg';

/** The session settings the service gives its connections (as pg's client options name them). */
const SETTINGS = ['statement_timeout', 'idle_in_transaction_session_timeout'] as const;

export type ConnectCallback = (error?: Error) => void;

/** `options` without the settings this class sends with `SET`: for a connection of another class (a server search). */
export function withoutSessionSettings(options: pg.ClientConfig): pg.ClientConfig {
  const rest: Record<string, unknown> = { ...options };
  for (const name of SETTINGS) delete rest[name];
  return rest;
}

/**
 * A pg client that applies `statement_timeout` and `idle_in_transaction_session_timeout` with one `SET` once
 * connected, instead of sending them as startup parameters as pg does. A PgBouncer refuses a connection with a
 * startup parameter it does not know (08P01 "unsupported startup parameter: statement_timeout"), and one told to
 * ignore them (`ignore_startup_parameters`) dropped them silently, leaving statements without a timeout. A `SET`
 * reaches PostgreSQL either way and lasts the session (PgBouncer's session pooling gives a client one server
 * session).
 */
export class SessionSettingsClient extends pg.Client {
  private readonly settings: string;

  constructor(config?: string | pg.ClientConfig) {
    const options: pg.ClientConfig = typeof config === 'string' ? { connectionString: config } : { ...config };
    const settings = SETTINGS.flatMap((name) => {
      const value = options[name];
      return typeof value === 'number' ? [`SET ${name} = ${Math.trunc(value)}`] : [];
    });
    super(withoutSessionSettings(options));
    this.settings = settings.join('; ');
  }

  // pg's overloads: pg-pool passes a callback, everyone else awaits the promise.
  override connect(): Promise<pg.Client>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.Client> | void {
    const connected = super.connect().then(async () => {
      await this.applySettings();
      return this;
    });
    if (!callback) return connected;
    connected.then(() => callback(), callback);
  }

  private async applySettings(): Promise<void> {
    if (!this.settings) return;
    try {
      // pg's own query, not a subclass's: no span or answer timer for the connection's set-up.
      await (pg.Client.prototype.query as (text: string) => Promise<unknown>).call(this, this.settings);
    } catch (error: unknown) {
      // A connection without its timeouts is not handed out.
      this.end().catch(() => undefined);
      throw error;
    }
  }
}
