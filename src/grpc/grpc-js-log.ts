import { setLogger } from '@grpc/grpc-js';
import { Logger } from '@nestjs/common';
import { format } from 'node:util';

const logger = new Logger('grpc-js');
const METADATA_ENTRY = /^Failed to add metadata entry ([^:]*):/;

/**
 * grpc-js's own messages (its errors, and what GRPC_VERBOSITY / GRPC_TRACE ask for) as our log lines, instead of its
 * default: raw `E …` lines on stderr, outside the log's format and redaction. A metadata entry it could not add is
 * named without its values, which may be a credential.
 */
export function logGrpcJsMessages(): void {
  setLogger({
    error: (...args: unknown[]) => logger.error(withoutMetadataValues(format(...args))),
    info: (...args: unknown[]) => logger.log(withoutMetadataValues(format(...args))),
    debug: (...args: unknown[]) => logger.debug(withoutMetadataValues(format(...args))),
  });
}

export function withoutMetadataValues(message: string): string {
  const entry = METADATA_ENTRY.exec(message);
  return entry ? `Failed to add metadata entry ${entry[1]} (its values are not shown)` : message;
}
