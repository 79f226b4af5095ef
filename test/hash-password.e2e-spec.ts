import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { verifyPassword } from '../src/auth/passwords';

const CLI = join(__dirname, '..', 'dist', 'cli', 'hash-password.cli.js');
const PASSWORD = 'correct horse battery';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command; `input` is written to its standard input once `after` has been shown (at once without it). */
function run(command: string, args: string[], input: string, after?: string): Promise<Run> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let written = false;
  const write = (): void => {
    if (written) return;
    written = true;
    // At a terminal the keys go in while it runs; closing the input would hang the terminal up.
    if (after === undefined) child.stdin.end(input);
    else child.stdin.write(input);
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    if (after !== undefined && stdout.includes(after)) write();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  if (after === undefined) write();
  return new Promise((resolve) =>
    child.once('close', (code) => {
      child.stdin.destroy();
      resolve({ code, stdout, stderr });
    }),
  );
}

const PROMPT = 'Password (not shown, then Enter): ';

/**
 * The same CLI on a real terminal: `script` runs it on a pseudo-terminal of its own and copies what the terminal
 * shows (the CLI's output and whatever the terminal echoes) to its standard output. The keys are typed once the
 * prompt is shown, as a person would.
 */
function runOnTerminal(keys: string): Promise<Run> {
  return run('script', ['-qefc', `${process.execPath} ${CLI}`, '/dev/null'], keys, PROMPT);
}

describe('npm run hash-password (the built CLI, real processes)', () => {
  it('hashes a piped password (one line break at the end dropped) into the form the callers file takes', async () => {
    const result = await run(process.execPath, [CLI], `${PASSWORD}\n`);
    expect(result.code).toBe(0);
    const hash = result.stdout.trim();
    expect(hash).toMatch(/^scrypt\$/);
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
  });

  it('refuses a password shorter than 12 characters (exit 2), printing no hash', async () => {
    const result = await run(process.execPath, [CLI], 'short\n');
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe('Refusing a password shorter than 12 characters.\n');
  });

  it('at a terminal, reads the password without showing it, backspace included', async () => {
    // "correct horsX" + backspace + "e battery", Enter.
    const result = await runOnTerminal(`correct horsX\x7fe battery\r`);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('horse');
    const hash = /scrypt\$\S+/.exec(result.stdout)?.[0] ?? '';
    expect(await verifyPassword(PASSWORD, hash)).toBe(true);
  });

  it('at a terminal, gives up on Ctrl-C without a hash (exit 130)', async () => {
    const result = await runOnTerminal('correct horse\x03');
    expect(result.code).toBe(130);
    expect(result.stdout).not.toMatch(/scrypt\$/);
  });
});
