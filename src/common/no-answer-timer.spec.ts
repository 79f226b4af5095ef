import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { answeredWithin } from './answered-within';
import { startNoAnswerTimer } from './no-answer-timer';

/** Holds the event loop like a long GC pause or heavy synchronous work would. */
function holdEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    /* busy */
  }
}

describe('startNoAnswerTimer', () => {
  let server: Server;
  let client: Socket;
  let peer: Socket;

  beforeEach(async () => {
    server = createServer();
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise((resolve) => client.once('connect', resolve));
    peer = await accepted;
  });

  afterEach(async () => {
    client.destroy();
    peer.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reports silence when nothing answers in time', async () => {
    const silent = new Promise<'silent'>((resolve) => startNoAnswerTimer(20, () => resolve('silent')));
    await expect(silent).resolves.toBe('silent');
  });

  it('does not report an answer that arrived while the event loop was held past the time as silence', async () => {
    let silence = false;
    const stop = startNoAnswerTimer(30, () => (silence = true));
    const answered = new Promise<void>((resolve) =>
      client.once('data', () => {
        stop();
        resolve();
      }),
    );
    peer.write('answer'); // in the client's receive buffer at once, read on the loop's next poll
    holdEventLoop(100); // past the timer: the loop runs timers first, then reads the socket
    await answered;
    await new Promise((resolve) => setImmediate(resolve));
    expect(silence).toBe(false);
  });

  it('says the answer is late first, then that there is none', async () => {
    const calls: string[] = [];
    const silent = new Promise<void>((resolve) =>
      startNoAnswerTimer(
        40,
        () => {
          calls.push('no answer');
          resolve();
        },
        { afterMs: 10, onLate: () => calls.push('late') },
      ),
    );
    await silent;
    expect(calls).toEqual(['late', 'no answer']);
  });

  it('says nothing about an answer that came before it was late', async () => {
    const calls: string[] = [];
    const stop = startNoAnswerTimer(40, () => calls.push('no answer'), {
      afterMs: 20,
      onLate: () => calls.push('late'),
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    stop();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(calls).toEqual([]);
  });

  it('never fires once stopped', async () => {
    let silence = false;
    const stop = startNoAnswerTimer(10, () => (silence = true));
    stop();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(silence).toBe(false);
  });

  describe('answeredWithin', () => {
    const reply = () => new Promise<void>((resolve) => client.once('data', () => resolve()));

    it('is true for work done in time and false for work that fails or is not done in time', async () => {
      await expect(answeredWithin(Promise.resolve(), 50)).resolves.toBe(true);
      await expect(answeredWithin(Promise.reject(new Error('refused')), 50)).resolves.toBe(false);
      await expect(answeredWithin(reply(), 20)).resolves.toBe(false);
    });

    it('counts an answer that arrived while the event loop was held up past the time', async () => {
      const answered = answeredWithin(reply(), 30);
      peer.write('PONG'); // in the client's receive buffer at once, read on the loop's next poll
      holdEventLoop(120); // past the time: the loop runs its timers before it reads the socket
      await expect(answered).resolves.toBe(true);
    });
  });
});
