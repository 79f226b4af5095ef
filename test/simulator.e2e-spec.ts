import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './support/service-process';
import { startTestApp, TestApp } from './support/test-app';
import { generateCertificates } from './support/tls-fixtures';
import { queryTestDatabase } from './support/test-database';
import { PLATFORMS } from '../src/common/platform';
import { hashPassword } from '../src/auth/passwords';

const CLI = join(__dirname, '..', 'dist', 'cli', 'simulate.cli.js');

describe('npm run simulate (real process against the real app)', () => {
  const workdir = mkdtempSync(join(tmpdir(), 'wf-simulate-'));
  let t: TestApp;

  const simulate = (args: string[]) =>
    promisify(execFile)(process.execPath, [CLI, '--url', t.baseUrl, ...args], {
      cwd: workdir,
      env: { PATH: process.env.PATH },
    });

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
    rmSync(workdir, { recursive: true, force: true });
  });

  it.each([...PLATFORMS])('sends a realistic %s request and prints the answer and latency', async (platform) => {
    const { stdout } = await simulate([
      '--platform',
      platform,
      '--intent',
      'GetAccountBalance',
      '--param',
      'user_id=12345',
      '--param',
      'account_type=checking',
    ]);
    expect(stdout).toMatch(/^← 200 in \d+ ms$/m);
    expect(stdout).toMatch(/^bot says: .*\$3,247\.82/m);
  });

  it('walks a multi-turn booking through with --session (elicit → answer → confirm)', async () => {
    const [slot] = await queryTestDatabase<{ starts_at: Date }>(
      t.database.url,
      `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = 'dr-lee' AND s.starts_at > now() ORDER BY s.starts_at DESC LIMIT 1`,
    );
    const iso = slot.starts_at.toISOString();
    const base = ['--platform', 'dialogflow-cx', '--intent', 'BookAppointment', '--session', 'booking'];
    const turn1 = await simulate([...base, '--param', 'provider=dr-lee', '--param', `date=${iso.slice(0, 10)}`]);
    expect(turn1.stdout).toMatch(/bot says: Which time suits you\?/);
    const turn2 = await simulate([...base, '--param', `time=${iso.slice(11, 16)}`]);
    expect(turn2.stdout).toMatch(/bot says: What is your patient number\?/);
    const turn3 = await simulate([...base, '--param', 'patient_id=P-3001']);
    expect(turn3.stdout).toMatch(/bot says: Book Dr\. Ada Lee on .+\?/);
    const turn4 = await simulate([...base, '--confirm', 'yes']);
    expect(turn4.stdout).toMatch(/bot says: You're booked with Dr\. Ada Lee .+ Your reference is [A-Z0-9]{6}\./);
  });

  it('signs with a caller’s Standard Webhooks secret from the callers file', async () => {
    const { writeFileSync } = await import('node:fs');
    const { randomBytes } = await import('node:crypto');
    const file = join(workdir, 'callers.yaml');
    writeFileSync(
      file,
      `callers:\n  - id: signer\n    platforms: [generic]\n    auth: { standardWebhooks: { secrets: [whsec_${randomBytes(32).toString('base64')}] } }\n`,
    );
    const signed = await startTestApp({ env: { CALLERS_FILE: file } });
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          CLI,
          '--url',
          signed.baseUrl,
          '--platform',
          'generic',
          '--intent',
          'GetAccountBalance',
          '--param',
          'user_id=12345',
          '--param',
          'account_type=savings',
          '--caller',
          'signer',
          '--callers-file',
          file,
        ],
        { cwd: workdir, env: { PATH: process.env.PATH } },
      );
      expect(stdout).toMatch(/bot says: Your savings account balance is \$12,500\.00/);
    } finally {
      await signed.close();
    }
  });

  describe('a basic-auth caller (its password from SIMULATOR_PASSWORD, or typed at a terminal)', () => {
    const PASSWORD = 'correct horse battery';
    const file = join(workdir, 'basic-callers.yaml');
    let basic: TestApp;
    const args = () => [
      CLI,
      '--url',
      basic.baseUrl,
      '--platform',
      'generic',
      '--intent',
      'GetAccountBalance',
      '--param',
      'user_id=12345',
      '--param',
      'account_type=savings',
      '--caller',
      'basic-bot',
      '--callers-file',
      file,
    ];

    beforeAll(async () => {
      writeFileSync(
        file,
        `callers:\n  - id: basic-bot\n    platforms: [generic]\n` +
          `    auth: { basic: { username: legacy-bot, passwordHashes: ['${await hashPassword(PASSWORD)}'] } }\n`,
      );
      basic = await startTestApp({ env: { CALLERS_FILE: file } });
    });
    afterAll(async () => {
      await basic.close();
    });

    it('signs in with the password from SIMULATOR_PASSWORD', async () => {
      const { stdout } = await promisify(execFile)(process.execPath, args(), {
        cwd: workdir,
        env: { PATH: process.env.PATH, SIMULATOR_PASSWORD: PASSWORD },
      });
      expect(stdout).toMatch(/bot says: Your savings account balance is \$12,500\.00/);
    });

    it('asks for the password at a terminal, not shown', async () => {
      // `script` runs it on a pseudo-terminal of its own and copies what the terminal shows to its output.
      const command = [process.execPath, ...args()].map((word) => `'${word}'`).join(' ');
      const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: workdir, env: { PATH: process.env.PATH } });
      let screen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        const before = screen;
        screen += chunk.toString('utf8');
        if (!before.includes('(not shown, then Enter): ') && screen.includes('(not shown, then Enter): ')) {
          child.stdin.write(`${PASSWORD}\r`);
        }
      });
      const code = await new Promise((resolve) => child.once('close', resolve));
      child.stdin.destroy();
      expect(screen).toContain('Password of caller "basic-bot" (not shown, then Enter): ');
      expect(screen).not.toContain(PASSWORD);
      expect(screen).toMatch(/bot says: Your savings account balance is \$12,500\.00/);
      expect(code).toBe(0);
    });

    it('without either, says where the password goes, and sends nothing (exit 1)', async () => {
      const failed = await promisify(execFile)(process.execPath, args(), {
        cwd: workdir,
        env: { PATH: process.env.PATH },
      }).catch((error: { code: number; stdout: string; stderr: string }) => error);
      expect(failed).toMatchObject({
        code: 1,
        stdout: '',
        stderr:
          'caller "basic-bot" signs in as legacy-bot with a password, which the callers file does not hold: set ' +
          'SIMULATOR_PASSWORD, or run the simulator at a terminal to be asked for it\n',
      });
    });
  });

  it('prints its usage on --help (exit 0)', async () => {
    const { stdout, stderr } = await simulate(['--help']);
    expect(stdout).toMatch(/^usage: npm run simulate -- --platform <dialogflow-es\|/);
    expect(stdout).toContain('SIMULATOR_PASSWORD');
    expect(stderr).toBe('');
  });

  it('names a --platform it does not know, and the ones it does (exit 2)', async () => {
    await expect(simulate(['--platform', 'dialogflow', '--intent', 'X'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringMatching(
        /^--platform "dialogflow" is not one of dialogflow-es, dialogflow-cx, lex-v2, rasa, generic\n/,
      ),
    });
  });

  it('names a session file that holds no session, and says what to do (exit 1, nothing sent)', async () => {
    mkdirSync(join(workdir, '.data', 'simulator'), { recursive: true });
    const file = join(workdir, '.data', 'simulator', 'corrupt.json');
    writeFileSync(file, '{"parameters": {');
    const failed = await simulate([
      '--platform',
      'generic',
      '--intent',
      'GetAccountBalance',
      '--session',
      'corrupt',
    ]).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect(failed).toMatchObject({ code: 1, stdout: '' });
    expect((failed as { stderr: string }).stderr).toMatch(/: delete it to start the session afresh\n$/);
    expect((failed as { stderr: string }).stderr.startsWith(`${file} is not a simulator session (`)).toBe(true);
  });

  it('explains its usage on bad arguments (exit 2)', async () => {
    await expect(simulate(['--platform', 'telegram', '--intent', 'X'])).rejects.toMatchObject({ code: 2 });
    // A misspelt flag was dropped without a word: the request went out without it.
    await expect(
      simulate(['--platform', 'generic', '--intent', 'X', '--parm', 'a=1', '--url', 'http://127.0.0.1:1']),
    ).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("Unknown option '--parm'") });
    await expect(simulate(['--platform', 'generic', '--intent'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining("Option '--intent <value>' argument missing"),
    });
  });

  it("walks the README's booking example through as printed, on whatever day it runs", async () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const block = /## Simulator[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const booking = block.split('\n').filter((line) => line.includes('--intent BookAppointment'));
    expect(booking).toHaveLength(3);
    const args = (line: string): string[] => line.replace(/^npm run simulate -- /, '').split(' ');
    const replies: string[] = [];
    for (const line of booking) replies.push((await simulate(args(line))).stdout);
    expect(replies[0]).toMatch(/bot says: Which time suits you\? Free times are: /);
    expect(replies[1]).toMatch(/bot says: Book Dr\. Ada Lee on .+ 09:00 \(UTC\)\?/);
    expect(replies[2]).toMatch(
      /bot says: You're booked with Dr\. Ada Lee on .+ 09:00 \(UTC\)\. Your reference is [A-Z0-9]{6}\./,
    );
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const [booked] = await queryTestDatabase<{ starts_at: Date }>(
      t.database.url,
      `SELECT s.starts_at FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id WHERE a.patient_ref = 'P-1001'`,
    );
    expect(booked.starts_at.toISOString()).toBe(`${tomorrow}T09:00:00.000Z`);
  });

  it('forgets a --param the answer reset (a Rasa slot asked for again), so the next turn does not send it again', async () => {
    const session = ['--platform', 'rasa', '--intent', 'BookAppointment', '--session', 'rasa-reset'];
    const first = await simulate([
      ...session,
      '--param',
      'provider=dr-lee',
      '--param',
      'date=tomorrow',
      '--param',
      'time=03:00',
    ]);
    expect(first.stdout).toMatch(/bot says: Dr\. Ada Lee has no appointment at 03:00 that day\. Free times are:/);
    const state = JSON.parse(readFileSync(join(workdir, '.data', 'simulator', 'rasa-reset.json'), 'utf8')) as {
      parameters: Record<string, string>;
    };
    // The date as the simulator resolved it, as a platform's date entity would.
    expect(state.parameters).toEqual({ provider: 'dr-lee', date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
    // The bot asks for a time afresh, not about 03:00 again.
    expect((await simulate(session)).stdout).toMatch(/bot says: Which time suits you\? Free times are:/);
  });

  it('says why a request could not be sent, with the URL (exit 1, no usage text)', async () => {
    const port = await freePort();
    const failed = await promisify(execFile)(
      process.execPath,
      [CLI, '--url', `http://127.0.0.1:${port}`, '--platform', 'generic', '--intent', 'GetAccountBalance'],
      { cwd: workdir, env: { PATH: process.env.PATH } },
    ).catch((error: { code: number; stderr: string }) => error);
    expect(failed).toMatchObject({
      code: 1,
      stderr: `could not reach http://127.0.0.1:${port}/v1/webhooks/generic: connection refused (is the service running? npm start)\n`,
    });
  });

  describe('an mTLS caller (--cert, --key, --ca)', () => {
    const certs = mkdtempSync(join(tmpdir(), 'wf-simulate-certs-'));
    let secure: TestApp;
    let url: string;
    const run = (extra: string[]) =>
      promisify(execFile)(
        process.execPath,
        [
          CLI,
          '--url',
          url,
          '--platform',
          'generic',
          '--intent',
          'GetAccountBalance',
          '--param',
          'user_id=12345',
          '--param',
          'account_type=checking',
          ...extra,
        ],
        { cwd: workdir, env: { PATH: process.env.PATH } },
      );

    beforeAll(async () => {
      generateCertificates(certs);
      secure = await startTestApp({
        env: {
          CALLERS_FILE: join(__dirname, '..', 'config', 'callers.example.yaml'),
          TLS_CERT_FILE: join(certs, 'server.crt'),
          TLS_KEY_FILE: join(certs, 'server.key'),
          TLS_CA_FILE: join(certs, 'ca.crt'),
        },
      });
      url = secure.baseUrl.replace('http://127.0.0.1', 'https://localhost');
    });
    afterAll(async () => {
      await secure.close();
      rmSync(certs, { recursive: true, force: true });
    });

    it('authenticates with the client certificate alone', async () => {
      const { stdout } = await run([
        '--ca',
        join(certs, 'ca.crt'),
        '--cert',
        join(certs, 'client.crt'),
        '--key',
        join(certs, 'client.key'),
      ]);
      expect(stdout).toMatch(/^← 200 in \d+ ms$/m);
      expect(stdout).toMatch(/bot says: .*\$3,247\.82/);
    });

    it('explains a server certificate it cannot verify and what to pass', async () => {
      const failed = await run([]).catch((error: { code: number; stderr: string }) => error);
      expect(failed).toMatchObject({
        code: 1,
        stderr: expect.stringMatching(
          /^TLS error talking to https:\/\/localhost:\d+\/v1\/webhooks\/generic: .*pass .*--ca/,
        ),
      });
    });
  });
});
