import { freePort } from '../../support/service-process';
import { StreamingPair } from '../../support/streaming-replica';
import type { FaultPostgres } from './fault-cluster';

/**
 * A primary and a synchronous streaming standby (Debian's PostgreSQL, `StreamingPair`): the database a bank runs,
 * where every commit a client is told of is on both servers. `failOver()` loses the primary the way a crashed
 * host does and promotes the standby; from then on `port` and `url` name the new primary.
 */
export class FailoverPostgres implements FaultPostgres {
  private failedOver = false;

  private constructor(private readonly pair: StreamingPair) {}

  static async start(primaryPort: number): Promise<FailoverPostgres> {
    const pair = await StreamingPair.start(primaryPort, await freePort());
    try {
      await pair.replicateSynchronously();
    } catch (error: unknown) {
      await pair.close();
      throw error;
    }
    return new FailoverPostgres(pair);
  }

  private get current(): 'primary' | 'replica' {
    return this.failedOver ? 'replica' : 'primary';
  }

  get port(): number {
    return this.pair[this.current].port;
  }

  /** Where the standby listens (the new primary after `failOver()`). */
  get standbyPort(): number {
    return this.pair.replica.port;
  }

  url(database: string): string {
    return this.pair.url(this.current, database);
  }

  async createDatabase(name: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsafe database name ${name}`);
    await this.pair.query(this.current, `CREATE DATABASE ${name}`);
    return this.url(name);
  }

  /**
   * SIGKILL to the primary's postmaster (no shutdown, nothing more sent to the standby), then the standby is
   * promoted; resolves once it takes writes. Returns how long the promotion took.
   */
  async failOver(): Promise<number> {
    this.pair.primary.signal('SIGKILL');
    await this.pair.primary.waitForExit();
    const started = Date.now();
    await this.pair.promote();
    this.failedOver = true;
    return Date.now() - started;
  }

  /** Stops the standby (fast shutdown): every commit on the primary then waits for it. */
  stopStandby(): Promise<void> {
    return this.pair.replica.stop();
  }

  /** Starts the standby again; resolves once the primary's commits wait for it again (it has caught up). */
  async startStandby(): Promise<void> {
    await this.pair.replica.start();
    await this.pair.replicateSynchronously();
  }

  async destroy(): Promise<void> {
    await this.pair.close();
  }
}
