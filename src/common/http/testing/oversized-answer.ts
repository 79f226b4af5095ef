/**
 * Test support for readers with a size limit: a real HTTP server on 127.0.0.1, and answers that never end (or
 * declare a huge `Content-Length`). Not used by application code.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const MIB = 1024 * 1024;
/** A `Content-Length` no reader with a limit takes (10 GiB). */
export const HUGE = 10 * 1024 * MIB;

/** A reader with no limit still gets an end here (an answer "without end" would take the test machine down). */
export const SAFETY_STOP_BYTES = 64 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x20); // JSON whitespace: valid inside any JSON document

/**
 * How the answer ended: the client closed the connection before it ended; or the server reached
 * {@link SAFETY_STOP_BYTES} (it then ends a streamed answer with text that is not JSON, and cuts a declared one).
 */
export type OversizedOutcome = 'client-closed' | 'safety-stop';

export interface OversizedAnswer {
  /** Body bytes handed to the connection so far. */
  written(): number;
  readonly outcome: Promise<OversizedOutcome>;
}

export interface OversizedAnswerOptions {
  /** The start of the body, e.g. `{"keys":[`: what follows is whitespace. */
  readonly prefix: string;
  /** Sent as `Content-Length`; without it the body is chunked. */
  readonly declaredLength?: number;
}

/** Answers 200 with JSON that goes on without end, for as long as the client reads. */
export function answerWithoutEnd(res: ServerResponse, options: OversizedAnswerOptions): OversizedAnswer {
  let written = 0;
  let safetyStop = false;
  const outcome = new Promise<OversizedOutcome>((resolve) =>
    res.once('close', () => resolve(safetyStop ? 'safety-stop' : 'client-closed')),
  );
  res.on('error', () => undefined);
  res.writeHead(200, {
    'content-type': 'application/json',
    ...(options.declaredLength !== undefined && { 'content-length': String(options.declaredLength) }),
  });
  res.write(options.prefix);
  written += Buffer.byteLength(options.prefix);
  const pump = (): void => {
    while (!res.destroyed && written < SAFETY_STOP_BYTES) {
      written += CHUNK.length;
      if (!res.write(CHUNK)) {
        res.once('drain', pump);
        return;
      }
    }
    if (res.destroyed) return;
    safetyStop = true;
    if (options.declaredLength === undefined) res.end('"this is not JSON');
    else res.destroy();
  };
  pump();
  return { written: () => written, outcome };
}

export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` followed by `path`. */
  url(path: string): string;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 (random port); `handle` gets each request once its body has been read. */
export async function listenOnLoopback(
  handle: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<LoopbackServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
