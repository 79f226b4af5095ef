import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, TestDatabase } from './support/test-database';
import { generateCertificates } from './support/tls-fixtures';

const ROOT = join(__dirname, '..');

/** The README's mTLS example, run as printed except for the certificate folder and the port. */
describe('README mTLS example (real process, real TLS)', () => {
  const certs = mkdtempSync(join(tmpdir(), 'wf-readme-certs-'));
  let database: TestDatabase;
  let service: ServiceProcess;
  let curl: string;

  beforeAll(async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const block = /```sh\n(npm run certs:dev\n[\s\S]*?)```/.exec(readme)?.[1];
    if (!block) throw new Error('README has no mTLS example block');
    const port = String(await freePort());
    const lines = block.replace(/\\\n\s*/g, '').split('\n');
    const start = lines.find((line) => line.endsWith('npm start'));
    curl = lines.find((line) => line.startsWith('curl')) ?? '';
    const env: Record<string, string> = {};
    for (const assignment of (start ?? '').replace(/ npm start$/, '').split(/\s+/)) {
      const [key, value] = assignment.split('=');
      env[key] = value.replace(/^certs\/dev\//, `${certs}/`).replace(/^config\//, `${ROOT}/config/`);
    }
    env.PORT = port;
    curl = curl.replace(/certs\/dev\//g, `${certs}/`).replace(':8443/', `:${port}/`);
    expect(Object.keys(env).sort()).toEqual(
      ['CALLERS_FILE', 'PORT', 'TLS_CA_FILE', 'TLS_CERT_FILE', 'TLS_CRL_FILE', 'TLS_KEY_FILE'].sort(),
    );

    generateCertificates(certs);
    database = await createTestDatabase();
    service = startService({ ...env, DATABASE_URL: database.url });
    await service.waitFor(/Listening on https:\/\/0\.0\.0\.0:\d+ - TLS 1\.2\+, client certificates optional/);
  }, 60_000);

  afterAll(async () => {
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await service.exited;
    }
    await database?.drop();
    rmSync(certs, { recursive: true, force: true });
  });

  it('answers the curl with the development client certificate', async () => {
    const { stdout } = await promisify(execFile)('bash', ['-c', curl], { cwd: ROOT });
    expect(JSON.parse(stdout)).toMatchObject({
      fulfillmentText: 'Your checking account balance is $3,247.82. Would you like to see recent transactions?',
    });
  });

  it('answers the same curl with an unknown client certificate with a JSON 401', async () => {
    const unknown = curl.replace(/client\.(crt|key)/g, 'client-unknown.$1');
    const { stdout } = await promisify(execFile)('bash', ['-c', unknown], { cwd: ROOT });
    expect(JSON.parse(stdout)).toMatchObject({ statusCode: 401, error: 'UNAUTHENTICATED' });
  });
});
