import type { Server } from '@grpc/grpc-js';
import type { IncomingHttpHeaders } from 'node:http2';
import { grpcHttp2Servers } from './grpc-connections';

/**
 * Gives a repeated header back all its values. node:http2 keeps only the first of a header it deems single
 * (`authorization` among them) and joins others with ", ", so grpc-js's metadata would show one credential
 * where the client sent two. Restored as lists before grpc-js reads them, a repeated credential reaches the
 * caller guard as several metadata entries and is refused there (`duplicate-header`), as over HTTP/1.1.
 */
export function restoreRepeatedHeaders(headers: IncomingHttpHeaders, rawHeaders: readonly string[]): void {
  const counts = new Map<string, number>();
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index].toLowerCase();
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  for (const [name, count] of counts) {
    if (count < 2 || name.startsWith(':')) continue;
    const values: string[] = [];
    for (let index = 0; index < rawHeaders.length; index += 2) {
      if (rawHeaders[index].toLowerCase() === name) values.push(rawHeaders[index + 1]);
    }
    headers[name] = values;
  }
}

/** Runs `restoreRepeatedHeaders` on every call of a bound grpc-js server, ahead of grpc-js's own handler. */
export function keepRepeatedHeaders(server: Server): boolean {
  const servers = grpcHttp2Servers(server) ?? [];
  for (const http2Server of servers) {
    http2Server.prependListener(
      'stream',
      (_stream: unknown, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[] | undefined) => {
        if (rawHeaders) restoreRepeatedHeaders(headers, rawHeaders);
      },
    );
  }
  return servers.length > 0;
}
