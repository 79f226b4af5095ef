import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The response body exactly as received. */
  text: string;
  /** The parsed JSON body (throws when the body is not JSON). */
  json<T = Record<string, unknown>>(): T;
}

export interface RawRequest {
  method?: string;
  /** An array value is sent as that many separate header lines (e.g. two `Authorization` headers). */
  headers?: OutgoingHttpHeaders;
  /** Sent byte for byte; nothing re-serialises it. */
  body?: string | Buffer;
}

/**
 * One HTTP request over a fresh connection with `node:http`, sending the body bytes exactly as given.
 * Unlike supertest it never re-serialises the body and lets a header be repeated.
 */
export function sendRaw(baseUrl: string, path: string, options: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(path, baseUrl);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: options.method ?? 'POST',
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
      },
    );
    request.once('error', reject);
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) request.setHeader(name, value);
    }
    if (body && request.getHeader('content-length') === undefined) request.setHeader('Content-Length', body.length);
    request.end(body);
  });
}
