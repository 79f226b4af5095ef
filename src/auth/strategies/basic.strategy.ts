import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppConfig } from '../../config';
import { AuthAttempt, AuthStrategy, failure, StrategyOutcome } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';
import { decoyHash, passwordCheckCost, verifyPassword } from '../passwords';
import { BasicBackoff } from './basic-backoff';
import { PasswordCheckBudget } from './password-check-budget';

const BASIC = /^Basic\s+([A-Za-z0-9+/]+=*)\s*$/i;

/**
 * HTTP Basic against scrypt hashes; refused on plain HTTP unless TLS ends at a trusted proxy, or in local
 * development from loopback. A username with too many recent failures is refused without its password being
 * hashed (BasicBackoff, which counts wrong passwords only), known or not; the hashing itself is bounded
 * process-wide (PasswordCheckBudget).
 */
@Injectable()
export class BasicStrategy implements AuthStrategy {
  readonly method = 'basic' as const;

  constructor(
    private readonly callers: CallerRegistry,
    private readonly config: AppConfig,
    private readonly backoff: BasicBackoff,
    private readonly budget: PasswordCheckBudget,
  ) {}

  applies(attempt: AuthAttempt): boolean {
    return /^Basic\s/i.test(attempt.headers.authorization ?? '');
  }

  async authenticate(attempt: AuthAttempt): Promise<StrategyOutcome> {
    const overTls = attempt.connection.encrypted || this.config.http.tlsTerminatedByProxy;
    if (!overTls && !(attempt.local && !this.config.isProduction)) {
      return failure('basic-without-tls');
    }
    const encoded = BASIC.exec(attempt.headers.authorization ?? '')?.[1];
    const decoded = encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
    const separator = decoded.indexOf(':');
    if (separator < 1) return failure('unknown-token', 'malformed basic credentials');
    const username = decoded.slice(0, separator);
    const password = decoded.slice(separator + 1);
    const basicCallers = this.callers.withMethod(this.method);
    const entry = basicCallers.find(({ settings }) => settings.username === username);
    const audited = entry ? username : unknownUsername(username);
    const check = await this.backoff.admit(username, entry !== undefined);
    if (!check) return failure('too-many-failures', audited);
    // Every attempt checks as many hashes, of the same cost, as the costliest caller has (two while a password
    // rotates), known user or not, so the response time tells neither which usernames exist nor which is
    // mid-rotation. A fixed decoy's cost told them apart from callers whose hashes cost more or less.
    const own = entry?.settings.passwordHashes ?? [];
    const hashes = [...own, ...costliestHashes(basicCallers).slice(own.length).map(decoyHash)];
    const matched = await this.budget
      .run(async () => {
        let any = false;
        for (const hash of hashes) any = (await verifyPassword(password, hash)) || any;
        return any;
      })
      .catch((error: unknown) => {
        // Not checked (the hashing budget is full): the attempt is no failure of the user's.
        check.settle('unchecked');
        throw error;
      });
    if (entry && matched) {
      check.settle('passed');
      return { ok: true, caller: entry.caller };
    }
    check.settle('failed');
    return failure('bad-password', audited);
  }
}

/**
 * How the audit names a username no caller has: by a digest, not as typed. What is typed there is sometimes a
 * password or a personal name, and the audit is kept for months; the digest still tells a spray of one name from
 * many. A configured username is named as it is.
 */
export function unknownUsername(username: string): string {
  return `unknown username sha256:${createHash('sha256').update(username, 'utf8').digest('hex').slice(0, 16)}`;
}

/** The password hashes of the basic caller whose check costs the most. */
export function costliestHashes(callers: readonly { settings: { passwordHashes: readonly string[] } }[]): string[] {
  let costliest: readonly string[] = [];
  let most = -1;
  for (const { settings } of callers) {
    const cost = settings.passwordHashes.reduce((sum, hash) => sum + passwordCheckCost(hash), 0);
    if (cost > most) [costliest, most] = [settings.passwordHashes, cost];
  }
  return [...costliest];
}
