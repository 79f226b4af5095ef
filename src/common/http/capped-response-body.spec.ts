import { readBodyUpTo, readJsonUpTo, ResponseTooLargeError } from './capped-response-body';
import {
  answerWithoutEnd,
  HUGE,
  listenOnLoopback,
  type LoopbackServer,
  MIB,
  type OversizedAnswer,
} from './testing/oversized-answer';

let server: LoopbackServer;
let answers: OversizedAnswer[];

beforeAll(async () => {
  server = await listenOnLoopback((req, res) => {
    switch (req.url) {
      case '/endless':
        answers.push(answerWithoutEnd(res, { prefix: '{"keys":[' }));
        return;
      case '/declared':
        answers.push(answerWithoutEnd(res, { prefix: '{"keys":[', declaredLength: HUGE }));
        return;
      case '/exact':
        res.writeHead(200, { 'content-type': 'application/json' }).end(`"${'x'.repeat(998)}"`);
        return;
      case '/bom':
        res.writeHead(200, { 'content-type': 'application/json' }).end('\uFEFF{"answer":"grüß"}');
        return;
      default:
        res.writeHead(204).end();
    }
  });
});

beforeEach(() => {
  answers = [];
});

afterAll(() => server.close());

describe('readBodyUpTo / readJsonUpTo', () => {
  it('reads an answer of exactly the limit, and JSON as response.json() would', async () => {
    expect(await readBodyUpTo(await fetch(server.url('/exact')), 1000)).toHaveLength(1000);
    await expect(readJsonUpTo(await fetch(server.url('/bom')), 1000)).resolves.toEqual({ answer: 'grüß' });
    expect(await readBodyUpTo(await fetch(server.url('/empty')), 1000)).toHaveLength(0);
  });

  it('stops reading an answer without end once it passes the limit, and closes the connection', async () => {
    const error = await readJsonUpTo(await fetch(server.url('/endless')), MIB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error).toMatchObject({
      maxBytes: MIB,
      declaredBytes: undefined,
      message: 'the answer is larger than 1 MiB',
    });
    const [answer] = answers;
    await expect(answer.outcome).resolves.toBe('client-closed');
    // Socket buffers hold a few MiB; an unlimited reader takes all 64 MiB the server offers.
    expect(answer.written()).toBeLessThan(32 * MIB);
  });

  it('refuses an answer whose Content-Length is over the limit before reading its body', async () => {
    const error = await readBodyUpTo(await fetch(server.url('/declared')), MIB).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error).toMatchObject({
      declaredBytes: HUGE,
      message: `the answer declares ${HUGE} bytes, more than 1 MiB`,
    });
    const [answer] = answers;
    await expect(answer.outcome).resolves.toBe('client-closed');
    expect(answer.written()).toBeLessThan(32 * MIB);
  });
});
