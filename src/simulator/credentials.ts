import { randomUUID } from 'node:crypto';
import type { RegisteredCaller } from '../auth/callers/caller';
import { loadCallersFile } from '../auth/callers/callers-file';
import { signHeaderSignature } from '../auth/hmac/header-signature';
import { signStandardWebhook } from '../auth/hmac/standard-webhooks';

export const LOCAL_DEV_TOKEN = 'local-dev-token';

/**
 * Headers proving who calls: a bearer token when given, else the signature a caller's secrets in the callers
 * file can produce (Standard Webhooks or its signature header), else none when a client certificate is sent
 * (it is the credential), else the local development token.
 */
export function credentialHeaders(
  body: Buffer,
  options: { token?: string; callerId?: string; callersFile?: string; clientCertificate?: boolean },
): Record<string, string> {
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
  const methods = Object.keys(caller.auth).join(', ');
  throw new Error(
    `caller "${caller.id}" signs with none of its methods here (${methods}): pass its token with --token`,
  );
}
