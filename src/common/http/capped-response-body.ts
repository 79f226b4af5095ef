/**
 * A `fetch` answer whose body is longer than its reader accepts. Nothing past the limit was read: the body was
 * cancelled, which closes the connection.
 */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';

  constructor(
    readonly maxBytes: number,
    /** The answer's `Content-Length`, when that alone was over the limit. */
    readonly declaredBytes?: number,
  ) {
    super(
      declaredBytes === undefined
        ? `the answer is larger than ${describeBytes(maxBytes)}`
        : `the answer declares ${declaredBytes} bytes, more than ${describeBytes(maxBytes)}`,
    );
  }
}

/**
 * The whole body of a `fetch` answer, up to `maxBytes`; throws {@link ResponseTooLargeError} (after cancelling the
 * body) as soon as the declared `Content-Length` or the bytes received pass it. A peer that answers without end
 * would otherwise fill the process's memory within the request's timeout. Other failures (the request's abort
 * signal, a broken connection) reject as they would from `response.arrayBuffer()`.
 */
export async function readBodyUpTo(response: Response, maxBytes: number): Promise<Buffer> {
  const declared = declaredLength(response.headers);
  if (declared !== undefined && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new ResponseTooLargeError(maxBytes, declared);
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, length);
}

/** The body parsed as JSON, as `response.json()` would (UTF-8, a leading BOM ignored), read with {@link readBodyUpTo}. */
export async function readJsonUpTo(response: Response, maxBytes: number): Promise<unknown> {
  const body = await readBodyUpTo(response, maxBytes);
  return JSON.parse(new TextDecoder('utf-8').decode(body)) as unknown;
}

function declaredLength(headers: Headers): number | undefined {
  const value = headers.get('content-length')?.trim();
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

/** `1 MiB`, `256 KiB`, or `1000 bytes`. */
export function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
