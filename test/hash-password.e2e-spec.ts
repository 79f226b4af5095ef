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

/** Keys typed once `after` is on the screen, after what earlier steps waited for. */
interface Step {
  readonly after: string;
  readonly keys: string;
}

/** Runs a command with `input` on its standard input: all at once, or step by step as a person types. */
function run(command: string, args: string[], input: string | readonly Step[]): Promise<Run> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const steps = typeof input === 'string' ? [] : [...input];
  let seen = 0;
  const typeWhenPrompted = (): void => {
    for (let shown; steps.length > 0 && (shown = stdout.indexOf(steps[0].after, seen)) >= 0;) {
      seen = shown + steps[0].after.length;
      // At a terminal the keys go in while it runs; closing the input would hang the terminal up.
      child.stdin.write(steps.shift()?.keys);
    }
  };
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    typeWhenPrompted();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  if (typeof input === 'string') child.stdin.end(input);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      child.stdin.destroy();
      resolve({ code, stdout, stderr });
    }),
  );
}

const PROMPT = 'Password (not shown, then Enter): ';
const CONFIRM = 'Again, to confirm: ';

/**
 * The same CLI on a real terminal: `script` runs it on a pseudo-terminal of its own and copies what the terminal
 * shows (the CLI's output and whatever the terminal echoes) to its standard output. Each answer is typed once its
 * prompt is shown, as a person would.
 */
function runOnTerminal(password: string, confirmation?: string): Promise<Run> {
  const steps = [{ after: PROMPT, keys: password }];
  if (confirmation !== undefined) steps.push({ after: CONFIRM, keys: confirmation });
  return run('script', ['-qefc', `${process.execPath} ${CLI}`, '/dev/null'], steps);
}

const hashIn = (output: string): string => /scrypt\$\S+/.exec(output)?.[0] ?? '';

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

  it('at a terminal, reads the password twice without showing it, backspace included', async () => {
    // "correct horsX" + backspace + "e battery", Enter; then typed again.
    const result = await runOnTerminal('correct horsX\x7fe battery\r', `${PASSWORD}\r`);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('horse');
    expect(await verifyPassword(PASSWORD, hashIn(result.stdout))).toBe(true);
  });

  it('at a terminal, Ctrl-U takes back everything typed so far', async () => {
    const result = await runOnTerminal(`wrong password\x15${PASSWORD}\r`, `${PASSWORD}\r`);
    expect(result.code).toBe(0);
    expect(await verifyPassword(PASSWORD, hashIn(result.stdout))).toBe(true);
  });

  it('at a terminal, refuses an arrow key (exit 2): it would have edited nothing, only added bytes', async () => {
    const result = await runOnTerminal(`${PASSWORD}\x1b[D\x1b[Dx\r`);
    expect(result.code).toBe(2);
    expect(result.stdout).not.toMatch(/scrypt\$/);
    expect(result.stdout).toContain(
      'Refusing the password: an arrow, function or Escape key is not part of one, and only Backspace and Ctrl-U ' +
        'edit it here. Nothing was hashed.',
    );
  });

  it('at a terminal, refuses two passwords that differ (exit 2), printing no hash', async () => {
    const result = await runOnTerminal(`${PASSWORD}\r`, 'correct horse battery staple\r');
    expect(result.code).toBe(2);
    expect(result.stdout).not.toMatch(/scrypt\$/);
    expect(result.stdout).toContain('The two passwords differ. Nothing was hashed.');
  });

  it.each([
    ['at the password', ['correct horse\x03']],
    ['at the confirmation', [`${PASSWORD}\r`, 'correct\x03']],
  ])('at a terminal, gives up on Ctrl-C %s without a hash (exit 130)', async (_when, answers) => {
    const result = await runOnTerminal(answers[0], answers[1]);
    expect(result.code).toBe(130);
    expect(result.stdout).not.toMatch(/scrypt\$/);
  });
});
