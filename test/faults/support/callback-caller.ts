import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes a callers file (in `dir`) with one generic-platform caller, `statements-bot`, that authenticates with
 * `token` and gets its async results at `callbackUrl` (a receiver on 127.0.0.1), signed with `secret`; returns
 * its path, for CALLERS_FILE.
 */
export function writeCallbackCaller(dir: string, token: string, secret: string, callbackUrl: string): string {
  const file = join(dir, 'callers.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      callers: [
        {
          id: 'statements-bot',
          platforms: ['generic'],
          auth: { bearer: { tokens: [token] } },
          callback: { url: callbackUrl, secrets: [secret], allowPrivateNetwork: true },
        },
      ],
    }),
  );
  return file;
}
