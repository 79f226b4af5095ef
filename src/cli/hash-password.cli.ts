import { hashPassword } from '../auth/passwords';

const MIN_LENGTH = 12;
const ENTER = new Set([0x0a, 0x0d]);
const BACKSPACE = new Set([0x08, 0x7f]);
const CTRL_C = 0x03;
const CTRL_D = 0x04;

/** Everything piped in, without the one line break that ends it. */
async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/**
 * One line typed at a terminal, not shown: the terminal is in raw mode while it is typed, so the password stays
 * out of the screen, its scrollback and any recording of the session. Ctrl-C gives up.
 */
function readHidden(): Promise<string | undefined> {
  const stdin = process.stdin;
  process.stderr.write('Password (not shown, then Enter): ');
  stdin.setRawMode(true);
  stdin.resume();
  const typed: number[] = [];
  return new Promise((resolve) => {
    const done = (password: string | undefined): void => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      resolve(password);
    };
    const onData = (chunk: Buffer): void => {
      for (const byte of chunk) {
        if (byte === CTRL_C) return done(undefined);
        if (ENTER.has(byte) || byte === CTRL_D) return done(Buffer.from(typed).toString('utf8'));
        if (BACKSPACE.has(byte)) {
          // A whole character: drop UTF-8 continuation bytes with the byte that started it.
          while (typed.length > 0 && ((typed.pop() ?? 0) & 0xc0) === 0x80);
        } else {
          typed.push(byte);
        }
      }
    };
    stdin.on('data', onData);
  });
}

/** Reads a password (hidden at a terminal, else from standard input) and prints the scrypt hash the callers file expects. */
async function main(): Promise<void> {
  const password = process.stdin.isTTY ? await readHidden() : await readPiped();
  if (password === undefined) process.exit(130);
  if (password.length < MIN_LENGTH) {
    process.stderr.write(`Refusing a password shorter than ${MIN_LENGTH} characters.\n`);
    process.exit(2);
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
}

void main();
