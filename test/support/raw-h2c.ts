import { connect } from 'node:net';

/**
 * A bare HTTP/2 (cleartext) client for what node:http2 refuses to send, such as a header field repeated that it
 * deems single-valued (`authorization`). It sends one request on stream 1 and reports the frames it got back on
 * that stream. Header fields are HPACK literals without indexing and without Huffman coding (RFC 7541 §6.2.2).
 */
export interface RawH2Frame {
  type: number;
  flags: number;
}

const FRAME = { DATA: 0x0, HEADERS: 0x1, SETTINGS: 0x4, GOAWAY: 0x7 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** RFC 7541 §5.1 integer with an N-bit prefix (the prefix bits of the first byte are 0 here). */
function hpackInteger(value: number, prefixBits: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [value];
  const bytes = [max];
  let rest = value - max;
  while (rest >= 128) {
    bytes.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  bytes.push(rest);
  return bytes;
}

function hpackString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(hpackInteger(bytes.length, 7)), bytes]);
}

function headerBlock(fields: readonly (readonly [string, string])[]): Buffer {
  return Buffer.concat(fields.flatMap(([name, value]) => [Buffer.from([0x00]), hpackString(name), hpackString(value)]));
}

function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/**
 * POSTs `body` with the given header fields (pseudo-headers first, in order) and resolves with the frames of
 * stream 1 once the server ends it (or after `timeoutMs`).
 */
export function rawH2cRequest(
  port: number,
  fields: readonly (readonly [string, string])[],
  body: Buffer,
  timeoutMs = 5000,
): Promise<RawH2Frame[]> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const frames: RawH2Frame[] = [];
    let buffered = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(frames);
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('connect', () => {
      socket.write(
        Buffer.concat([
          PREFACE,
          frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(0)),
          frame(FRAME.HEADERS, FLAG.END_HEADERS, 1, headerBlock(fields)),
          frame(FRAME.DATA, FLAG.END_STREAM, 1, body),
        ]),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 9) {
        const length = buffered.readUIntBE(0, 3);
        if (buffered.length < 9 + length) break;
        const type = buffered.readUInt8(3);
        const flags = buffered.readUInt8(4);
        const streamId = buffered.readUInt32BE(5) & 0x7fffffff;
        buffered = buffered.subarray(9 + length);
        if (type === FRAME.SETTINGS && !(flags & FLAG.ACK))
          socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0)));
        if (streamId !== 1) continue;
        frames.push({ type, flags });
        if (flags & FLAG.END_STREAM) return done();
      }
    });
  });
}

export const H2_FRAME = FRAME;
export const H2_FLAG = FLAG;
