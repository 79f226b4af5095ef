import { hashPassword } from '../auth/passwords';

/** Reads a password from standard input and prints the scrypt hash the callers file expects. */
async function main(): Promise<void> {
  if (process.stdin.isTTY) process.stderr.write('Password (then Enter, Ctrl-D): ');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const password = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (password.length < 12) {
    process.stderr.write('Refusing a password shorter than 12 characters.\n');
    process.exit(2);
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
}

void main();
