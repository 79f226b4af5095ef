import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import { AuditLog } from '../../audit/audit-log';
import { AppConfig } from '../../config';
import { CallerRegistry } from './caller-registry';
import { passwordCheckCost } from '../passwords';
import type { RegisteredCaller } from './caller';
import { CallersFileError, callersFileDigest, parseCallers } from './callers-file';
import { unreachableCertificateBindings } from './certificate-bindings';

/** How long a changed callers file must stay the same before it is applied. */
const SETTLE_MS = 250;

/**
 * Reloads the callers file when its content changes (Kubernetes swaps mounted secrets by symlink, so the
 * content is polled rather than watched). A broken new version is refused and the current callers stay.
 */
@Injectable()
export class CallersFileWatcher implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Callers');
  private timer?: NodeJS.Timeout;
  private lastDigest?: string;
  private checking = false;

  constructor(
    private readonly registry: CallerRegistry,
    private readonly config: AppConfig,
    private readonly audit: AuditLog,
  ) {}

  onModuleInit(): void {
    const file = this.registry.source;
    if (!file) {
      this.logger.warn(
        'CALLERS_FILE is not set: local development caller "local-dev" accepts the token "local-dev-token" from loopback addresses only',
      );
      return;
    }
    this.refuseUnreachableBindings(this.registry.all(), file);
    this.logger.log(`Loaded ${this.registry.size} caller(s) from ${file}`);
    this.warnOfSharedTokens();
    // The digest of the text the callers came from, not of the file now: a change made since is applied at the
    // first check (before, one made while the service started was never applied, revoked credentials included).
    this.lastDigest = this.registry.sourceDigest;
    this.timer = setInterval(() => void this.check(), this.config.callers.reloadIntervalMs);
    this.timer.unref();
  }

  /**
   * Callers bound to a client certificate that cannot reach the service: production refuses them (at start, and a
   * reload that adds one is refused like an invalid file), elsewhere they are warned of.
   */
  private refuseUnreachableBindings(callers: readonly RegisteredCaller[], file: string): void {
    const problem = unreachableCertificateBindings(callers, this.config, file);
    if (!problem) return;
    if (this.config.isProduction) throw new CallersFileError([problem]);
    this.logger.warn(problem);
  }

  private warnOfSharedTokens(): void {
    this.warnOfUnevenPasswordCosts();
    const origins = this.registry.unboundIntrospectionOrigins();
    if (origins.length < 2) return;
    this.logger.warn(
      `Opaque tokens are sent to each of ${origins.length} introspection endpoints in turn (${origins.join(', ')}) ` +
        "until one knows them, so a caller's token can reach another's authorisation server: bind these callers to " +
        'their client certificates (certificate:), and each token goes to its own caller only',
    );
  }

  /** Every basic attempt costs what the costliest caller's check does: a cheaper caller's answers come sooner. */
  private warnOfUnevenPasswordCosts(): void {
    const costs = new Set(
      this.registry
        .withMethod('basic')
        .map(({ settings }) => settings.passwordHashes.reduce((sum, hash) => sum + passwordCheckCost(hash), 0)),
    );
    if (costs.size < 2) return;
    this.logger.warn(
      "The basic callers' password hashes differ in cost, so the response time can tell a cheaper caller's username " +
        'from others: hash every password with the same cost (npm run hash-password)',
    );
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Reloads now if the file changed; resolves true when new callers were applied. */
  async check(): Promise<boolean> {
    const file = this.registry.source;
    if (!file || this.checking) return false;
    this.checking = true;
    try {
      const text = await readFile(file, 'utf8');
      const digest = callersFileDigest(text);
      if (digest === this.lastDigest) return false;
      // A file rewritten in place (`cat new > callers.yaml`, an editor) can be read half-written, and the part written
      // may be valid YAML that lacks a caller's certificate binding or subjects: a new text is applied only once it
      // reads the same a moment later, else at a later check.
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      if (callersFileDigest(await readFile(file, 'utf8')) !== digest) return false;
      this.lastDigest = digest;
      const callers = parseCallers(text, file);
      this.refuseUnreachableBindings(callers, file);
      this.registry.replace(callers, digest);
      this.logger.log(`Reloaded ${callers.length} caller(s) from ${file}`);
      this.warnOfSharedTokens();
      this.audit.record({ event: 'sys_config_reload', outcome: 'success', reason: 'callers-file', detail: file });
      return true;
    } catch (error: unknown) {
      const problems = error instanceof CallersFileError ? error.problems.join('; ') : String(error);
      this.logger.error(`Kept the current callers: the new callers file is invalid: ${problems}`);
      this.audit.record({
        event: 'sys_config_reload_fail',
        outcome: 'failure',
        reason: 'callers-file',
        detail: problems,
      });
      return false;
    } finally {
      this.checking = false;
    }
  }
}
