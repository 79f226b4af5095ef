import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { sendGenericTurn, transferTurnBody } from './support/generic-turns';
import { OwnedPostgres } from './support/owned-postgres';
import { freePort, killService, type ServiceProcess, startService } from './support/service-process';
import { generateCertificates } from './support/tls-fixtures';

/**
 * PostgreSQL reached over TLS, as a bank's database is: a server that accepts TLS only and asks for a client
 * certificate, and a DATABASE_URL that verifies the server's certificate and names its CA and the client's
 * certificate and key. Every connection the service opens (the pool, the probe, the job queue, the notification
 * channel) must be encrypted; a certificate the service cannot trust must stop the start with one line saying which
 * setting to change. A real server of the test's own, with the development CA's certificates.
 */

describe('PostgreSQL over TLS (verify-full, a client certificate)', () => {
  let certs: string;
  let server: OwnedPostgres;
  let service: ServiceProcess | undefined;

  beforeAll(async () => {
    certs = await mkdtemp(join(tmpdir(), 'wf-pg-tls-'));
    generateCertificates(certs);
    server = await OwnedPostgres.create(await freePort());
    await server.requireTls(certs);
    await server.start();
    await server.createDatabase('fulfillment');
  }, 90_000);

  afterAll(async () => {
    if (service) await killService(service);
    await server?.destroy();
    await rm(certs, { recursive: true, force: true });
  });

  async function start(databaseUrl: string): Promise<{ service: ServiceProcess; baseUrl: string }> {
    const port = await freePort();
    const started = startService({ DATABASE_URL: databaseUrl, PORT: String(port), LOG_LEVEL: 'info' });
    return { service: started, baseUrl: `http://127.0.0.1:${port}` };
  }

  it('migrates, seeds and answers turns with every connection encrypted', async () => {
    const started = await start(server.tlsUrl('fulfillment'));
    service = started.service;
    await service.waitFor(/"msg":"Listening/, 60_000);
    const answer = await sendGenericTurn(started.baseUrl, transferTurnBody('tls-transfer', '12345', 100n));
    expect(answer.json()).toMatchObject({
      outcome: 'fulfilled',
      text: expect.stringMatching(/^Done: I moved \$1\.00/),
    });

    const admin = new Client({ connectionString: server.tlsUrl('postgres') });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ application_name: string; ssl: boolean; version: string }>(
        `SELECT a.application_name, s.ssl, s.version FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
          WHERE a.datname = 'fulfillment' ORDER BY 1`,
      );
      const names = new Set(rows.map((row) => row.application_name));
      for (const name of ['webhook-fulfillment', 'webhook-fulfillment-probe', 'webhook-fulfillment-jobs']) {
        expect(names).toContain(name);
      }
      expect(names).toContain('webhook-fulfillment-notifications');
      expect(rows.filter((row) => !row.ssl || !/^TLSv1\.[23]$/.test(row.version))).toEqual([]);
    } finally {
      await admin.end();
    }
    await killService(service);
    service = undefined;
  }, 90_000);

  it('a server certificate from another CA stops the start with the setting to change', async () => {
    const started = await start(server.tlsUrl('fulfillment', { sslrootcert: join(certs, 'other-ca.crt') }));
    expect(await started.service.exited).toEqual({ code: 1, signal: null });
    expect(started.service.output()).toContain(
      "Start-up failed: PostgreSQL's TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN: self-signed " +
        'certificate in certificate chain): set sslrootcert in DATABASE_URL to the CA that signed it',
    );
  }, 60_000);

  it('a CA file that is not there stops the start naming the settings that name files', async () => {
    const missing = join(certs, 'missing-ca.crt');
    const started = await start(server.tlsUrl('fulfillment', { sslrootcert: missing }));
    expect(await started.service.exited).toEqual({ code: 1, signal: null });
    expect(started.service.output()).toContain(
      `Start-up failed: a file DATABASE_URL names cannot be read (ENOENT: ENOENT: no such file or directory, open '${missing}'): check sslrootcert, sslcert and sslkey`,
    );
  }, 60_000);

  it('without TLS the server refuses the connection, and the start says so', async () => {
    const started = await start(server.url('fulfillment'));
    expect(await started.service.exited).toEqual({ code: 1, signal: null });
    expect(started.service.output()).toMatch(
      /Start-up failed: database unavailable \(28000\): no pg_hba\.conf entry for host "127\.0\.0\.1", user "postgres", database "fulfillment", no encryption/,
    );
  }, 60_000);
});
