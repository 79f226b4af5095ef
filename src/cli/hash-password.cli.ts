import { hashPassword } from '../auth/passwords';
import { type HiddenAnswer, HiddenInput } from './hidden-input';

const MIN_LENGTH = 12;
const INTERRUPTED = 130;
const REFUSED = 2;

/** Why no hash is printed: the exit code, and what to say (nothing after Ctrl-C). */
class NoHash extends Error {
  constructor(
    readonly exitCode: number,
    message = '',
  ) {
    super(message);
  }
}

/** Everything piped in, without the one line break that ends it. */
async function readPiped(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

function typedLine(answer: HiddenAnswer): string {
  if (answer.kind === 'interrupted') throw new NoHash(INTERRUPTED);
  if (answer.kind === 'refused') {
    throw new NoHash(
      REFUSED,
      `Refusing the password: ${answer.key} is not part of one, and only Backspace and Ctrl-U edit it here. ` +
        'Nothing was hashed.',
    );
  }
  return answer.text;
}

function refuseShort(password: string): void {
  if (password.length < MIN_LENGTH) {
    throw new NoHash(REFUSED, `Refusing a password shorter than ${MIN_LENGTH} characters.`);
  }
}

/** Typed twice at a terminal, not shown (see HiddenInput); a mistyped one is caught before it is hashed. */
async function readAtTerminal(): Promise<string> {
  const keys = HiddenInput.open();
  try {
    const password = typedLine(await keys.ask('Password (not shown, then Enter): '));
    refuseShort(password);
    const again = typedLine(await keys.ask('Again, to confirm: '));
    if (again !== password) throw new NoHash(REFUSED, 'The two passwords differ. Nothing was hashed.');
    return password;
  } finally {
    keys.close();
  }
}

/** Reads a password (hidden at a terminal, else from standard input) and prints the scrypt hash the callers file expects. */
async function main(): Promise<void> {
  try {
    const password = process.stdin.isTTY ? await readAtTerminal() : await readPiped();
    refuseShort(password);
    process.stdout.write(`${await hashPassword(password)}\n`);
  } catch (error: unknown) {
    if (!(error instanceof NoHash)) throw error;
    if (error.message) process.stderr.write(`${error.message}\n`);
    process.exit(error.exitCode);
  }
}

void main();
