import { setLogger } from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { format } from 'node:util';

const logger = new Logger('grpc-js');
const METADATA_ENTRY = /^Failed to add metadata entry ([^:]*):/;
/** A call's metadata as the `server_call` tracer writes it: `Request to <path> received headers {"name":[…],…}`. */
const RECEIVED_HEADERS = / received headers (\{.*)$/s;
/** A header as the client tracers list a response's headers and trailers: `\t\tname: value`, a line each. */
const HEADER_LINE = /^(\s+)([^\s:]+): .*$/gm;
const HIDDEN = '[REDACTED]';

/**
 * The headers whose values a grpc-js line may show: the protocol's own, which carry no credential. Every other value
 * is hidden: a credential may come in any header (`authorization`, `cookie`, `x-api-key`, the signature header a
 * caller's configuration names, a `-bin` value), so a name not known to be harmless is not shown.
 */
const SHOWN_HEADERS: ReadonlySet<string> = new Set([
  ':status',
  'content-type',
  'content-length',
  'date',
  'te',
  'user-agent',
  'accept-encoding',
  'grpc-accept-encoding',
  'grpc-encoding',
  'grpc-timeout',
  'grpc-status',
  'grpc-message',
  'x-request-id',
  'traceparent',
]);

/**
 * grpc-js's own messages (its errors, and what GRPC_VERBOSITY / GRPC_TRACE ask for) as our log lines, instead of its
 * default: raw `E …` lines on stderr, outside the log's format and redaction. Header values in them are hidden but
 * for SHOWN_HEADERS (the `server_call` tracer writes every call's metadata, credentials included).
 */
export function logGrpcJsMessages(): void {
  setLogger({
    error: (...args: unknown[]) => logger.error(withoutMetadataValues(format(...args))),
    info: (...args: unknown[]) => logger.log(withoutMetadataValues(format(...args))),
    debug: (...args: unknown[]) => logger.debug(withoutMetadataValues(format(...args))),
  });
}

/** A grpc-js message with the values of the headers it quotes hidden (see SHOWN_HEADERS). */
export function withoutMetadataValues(message: string): string {
  const entry = METADATA_ENTRY.exec(message);
  if (entry) return `Failed to add metadata entry ${entry[1]} (its values are not shown)`;
  return message
    .replace(RECEIVED_HEADERS, (_line, json: string) => ` received headers ${shownJson(json)}`)
    .replace(HEADER_LINE, (line, indent: string, name: string) =>
      SHOWN_HEADERS.has(name.toLowerCase()) ? line : `${indent}${name}: ${HIDDEN}`,
    );
}

/** The metadata's JSON with hidden values; all of it hidden when it is not the object grpc-js writes. */
function shownJson(json: string): string {
  let metadata: unknown;
  try {
    metadata = JSON.parse(json);
  } catch {
    return HIDDEN;
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return HIDDEN;
  const shown = Object.entries(metadata as Record<string, unknown>).map(([name, values]) => [
    name,
    SHOWN_HEADERS.has(name) ? values : HIDDEN,
  ]);
  return JSON.stringify(Object.fromEntries(shown));
}
