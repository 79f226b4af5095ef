import { randomUUID } from 'node:crypto';
import type { AuthMethod, RegisteredCaller } from '../auth/callers/caller';
import { loadCallersFile } from '../auth/callers/callers-file';
import { signHeaderSignature } from '../auth/hmac/header-signature';
import { signStandardWebhook } from '../auth/hmac/standard-webhooks';

export const LOCAL_DEV_TOKEN = 'local-dev-token';

/** Where a basic caller's password comes from: the callers file holds only its hash. */
export const PASSWORD_VARIABLE = 'SIMULATOR_PASSWORD';

export interface CredentialOptions {
  readonly token?: string;
  readonly callerId?: string;
  readonly callersFile?: string;
  readonly clientCertificate?: boolean;
  /** A basic caller's password, asked for only when the caller signs in with one. */
  readonly password?: (callerId: string) => Promise<string | undefined>;
}

/** What to pass for a caller whose methods the simulator cannot use alone: each needs a credential from outside. */
const HINTS: Partial<Record<AuthMethod, string>> = {
  bearer: 'its token with --token',
  jwt: 'a token it would present with --token',
  introspection: 'a token it would present with --token',
  googleIdToken: 'an ID token it would present with --token',
  kubernetes: 'a service-account token it would present with --token',
  mtls: 'its client certificate with --cert and --key',
};

/**
 * Headers proving who calls: a bearer token when given, else what a caller in the callers file can sign with
 * here: its Standard Webhooks or signature-header secret, a client certificate sent (it is the credential), or its
 * username with the password asked for; else none when a client certificate is sent, else the local development
 * token.
 */
export async function credentialHeaders(body: Buffer, options: CredentialOptions): Promise<Record<string, string>> {
  if (options.token) return { Authorization: `Bearer ${options.token}` };
  if (!options.callerId) return options.clientCertificate ? {} : { Authorization: `Bearer ${LOCAL_DEV_TOKEN}` };
  if (!options.callersFile) throw new Error('--caller needs the callers file: set CALLERS_FILE or --callers-file');
  const caller: RegisteredCaller | undefined = loadCallersFile(options.callersFile).find(
    (candidate) => candidate.id === options.callerId,
  );
  if (!caller) throw new Error(`no caller "${options.callerId}" in ${options.callersFile}`);
  const now = Math.floor(Date.now() / 1000);
  const standard = caller.auth.standardWebhooks?.secrets[0];
  if (standard) {
    const webhookId = `msg_${randomUUID()}`;
    return {
      'webhook-id': webhookId,
      'webhook-timestamp': String(now),
      'webhook-signature': signStandardWebhook({ webhookId, timestampSeconds: now, rawBody: body, secret: standard }),
    };
  }
  const header = caller.auth.headerSignature;
  if (header?.secrets[0]) {
    const signature = signHeaderSignature({
      scheme: header,
      rawBody: body,
      secret: header.secrets[0],
      timestampSeconds: now,
    });
    return { [header.header]: signature, ...(header.timestampHeader && { [header.timestampHeader]: String(now) }) };
  }
  if (caller.auth.mtls && options.clientCertificate) return {};
  const basic = caller.auth.basic;
  if (basic) {
    const password = await options.password?.(caller.id);
    if (password === undefined) {
      throw new Error(
        `caller "${caller.id}" signs in as ${basic.username} with a password, which the callers file does not ` +
          `hold: set ${PASSWORD_VARIABLE}, or run the simulator at a terminal to be asked for it`,
      );
    }
    return { Authorization: `Basic ${Buffer.from(`${basic.username}:${password}`, 'utf8').toString('base64')}` };
  }
  const methods = Object.keys(caller.auth) as AuthMethod[];
  const hints = [...new Set(methods.flatMap((method) => HINTS[method] ?? []))];
  throw new Error(
    `caller "${caller.id}" signs with nothing the simulator holds (${methods.join(', ')}): pass ${hints.join(', or ') || 'its credential'}`,
  );
}
