import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpsRequest, type Agent } from 'node:https';
import { join } from 'node:path';

const CERTS_SCRIPT = join(__dirname, '..', '..', 'scripts', 'certs.mjs');

/** Generates a full development certificate set (CA, server, trusted/unknown/expired/revoked clients). */
export function generateCertificates(outDir: string): void {
  execFileSync(process.execPath, [CERTS_SCRIPT, '--out', outDir, '--force'], { stdio: 'ignore' });
}

export function pem(dir: string, file: string): Buffer {
  return readFileSync(join(dir, file));
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Record<string, unknown>;
}

export interface HttpsCall {
  /** 127.0.0.1 unless set; the certificate is checked for `localhost` either way. */
  host?: string;
  port: number;
  /** POST unless set; a GET sends no body and no Content-Type. */
  method?: 'GET' | 'HEAD' | 'POST';
  path?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
  agent?: Agent;
  maxVersion?: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2';
}

/** One HTTPS request with a real TLS handshake (optionally with a client certificate); a POST unless told. */
export function httpsPost(call: HttpsCall): Promise<HttpsResponse> {
  const method = call.method ?? 'POST';
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: call.host ?? '127.0.0.1',
        servername: 'localhost',
        port: call.port,
        path: call.path ?? '/v1/webhooks/dialogflow-es',
        method,
        headers: { ...(method === 'POST' && { 'Content-Type': 'application/json' }), ...call.headers },
        ca: call.ca,
        cert: call.cert,
        key: call.key,
        agent: call.agent ?? false,
        ...(call.maxVersion && { maxVersion: call.maxVersion }),
        ...(call.minVersion && { minVersion: call.minVersion }),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON; the caller looks at `text`
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' ? (call.body ?? '') : undefined);
  });
}
