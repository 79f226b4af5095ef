import { Injectable } from '@nestjs/common';
import { AuthAttempt, AuthStrategy, failure, StrategyOutcome } from '../auth-attempt';
import { CallerRegistry } from '../callers/caller-registry';

/** The verified client certificate alone is the credential, bound to a caller by CN or SAN. */
@Injectable()
export class MtlsStrategy implements AuthStrategy {
  readonly method = 'mtls' as const;

  constructor(private readonly callers: CallerRegistry) {}

  applies(attempt: AuthAttempt): boolean {
    return attempt.connection.clientCertificateVerified && attempt.connection.peer !== undefined;
  }

  authenticate(attempt: AuthAttempt): Promise<StrategyOutcome> {
    const peer = attempt.connection.peer;
    const caller = peer ? this.callers.findByCertificate(peer) : undefined;
    return Promise.resolve(caller ? { ok: true, caller } : failure('certificate-mismatch', peer?.subjectCN));
  }
}
