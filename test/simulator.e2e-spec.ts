import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PLATFORMS } from '../src/fulfillment';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

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

  it('explains its usage on bad arguments (exit 2)', async () => {
    await expect(simulate(['--platform', 'telegram', '--intent', 'X'])).rejects.toMatchObject({ code: 2 });
  });
});
