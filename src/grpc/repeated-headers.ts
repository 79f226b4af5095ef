import type { Server } from '@grpc/grpc-js';
import type { IncomingHttpHeaders } from 'node:http2';
import { UNREADABLE_HEADER_VALUE } from '../auth/malformed-credential';
import { grpcHttp2Servers } from './grpc-connections';
import { holdableTimeout } from './grpc-deadline';

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

/** What grpc-js takes as a metadata key, and as the value of a key that does not end in `-bin`. */
const METADATA_KEY = /^[0-9a-z_.-]+$/;
const METADATA_TEXT = /^[ -~]*$/;

/**
 * Stands for a header value gRPC metadata cannot hold: never a credential, and it says nothing of what was sent. Not
 * the bare word `unreadable`: as `authorization` that was a well-formed scheme we do not support, so the call was
 * refused UNAUTHENTICATED, or authenticated by its client certificate, instead of refused as malformed.
 */
export const UNREADABLE_VALUE = UNREADABLE_HEADER_VALUE;

/**
 * Makes every header one grpc-js can turn into metadata. grpc-js drops a header whose name or (text) value it
 * cannot hold, and logs the header's values raw: a credential with a tab or a byte over 0x7e would reach stderr,
 * unredacted. Of a repeated header it keeps the values before the first it cannot hold, so a repeated credential
 * could pass as one. Such a name is left out; such a value is replaced by UNREADABLE_VALUE, so the header still
 * counts (twice is still twice) and a credential in it is refused as malformed.
 */
export function makeMetadataSafe(headers: IncomingHttpHeaders): void {
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    if (!METADATA_KEY.test(name)) {
      delete headers[name];
      continue;
    }
    if (name.endsWith('-bin')) continue;
    if (Array.isArray(value)) {
      if (value.some((text) => !METADATA_TEXT.test(text))) {
        headers[name] = value.map((text) => (METADATA_TEXT.test(text) ? text : UNREADABLE_VALUE));
      }
    } else if (!METADATA_TEXT.test(value)) {
      headers[name] = UNREADABLE_VALUE;
    }
  }
}

/**
 * Adapts every call's headers on a bound grpc-js server, ahead of grpc-js's own handler: `restoreRepeatedHeaders`,
 * `makeMetadataSafe`, and one `grpc-timeout` grpc-js reads as meant (`holdableTimeout`).
 */
export function adaptIncomingHeaders(server: Server): boolean {
  const servers = grpcHttp2Servers(server) ?? [];
  for (const http2Server of servers) {
    http2Server.prependListener(
      'stream',
      (_stream: unknown, headers: IncomingHttpHeaders, _flags: number, rawHeaders: string[] | undefined) => {
        if (rawHeaders) restoreRepeatedHeaders(headers, rawHeaders);
        makeMetadataSafe(headers);
        const timeout = headers['grpc-timeout'];
        if (timeout !== undefined) headers['grpc-timeout'] = holdableTimeout(timeout);
      },
    );
  }
  return servers.length > 0;
}
