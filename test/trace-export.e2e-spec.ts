import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { esRequest } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { freePort, ServiceProcess, startService } from './support/service-process';
import { createTestDatabase, TestDatabase } from './support/test-database';
import { generateCertificates, httpsPost, pem } from './support/tls-fixtures';

/**
 * Tracing that fails is not silent: the built service (a real process) exporting over OTLP to a collector on
 * 127.0.0.1 that refuses every batch logs it and counts it in `trace_export_failures_total`. It serves TLS
 * with a certificate of its own, so the certificate's expiry is on the same scrape.
 */
describe('trace export failures and the certificate expiry metric (a real process)', () => {
  const certs = mkdtempSync(join(tmpdir(), 'wf-trace-export-'));
  let collector: Server;
  let refusedBatches = 0;
  let database: TestDatabase;
  let service: ServiceProcess;
  let port: number;
  let metricsUrl: string;

  beforeAll(async () => {
    collector = createServer((request, response) => {
      request.resume();
      request.once('end', () => {
        if (request.url === '/v1/traces') refusedBatches += 1;
        // 400: not retried by the exporter, so each batch fails at once.
        response.writeHead(400, { 'Content-Type': 'text/plain' }).end('refused');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    generateCertificates(certs);
    database = await createTestDatabase();
    port = await freePort();
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    service = startService({
      NODE_ENV: 'development',
      DATABASE_URL: database.url,
      PORT: String(port),
      TLS_CERT_FILE: join(certs, 'server.crt'),
      TLS_KEY_FILE: join(certs, 'server.key'),
      METRICS_ENABLED: 'true',
      METRICS_PORT: String(metricsPort),
      OTEL_SDK_DISABLED: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    await service.waitFor(/Listening on https:/);
  }, 90_000);

  afterAll(async () => {
    service?.child.kill('SIGKILL');
    await service?.exited;
    await database?.drop();
    await new Promise((resolve) => collector?.close(resolve));
    rmSync(certs, { recursive: true, force: true });
  });

  it('logs the first failed export (once, not per batch) and counts every one', async () => {
    const turn = (): Promise<unknown> =>
      httpsPost({
        port,
        ca: pem(certs, 'ca.crt'),
        headers: { Authorization: 'Bearer local-dev-token' },
        body: JSON.stringify(esRequest('GetAccountBalance', { user_id: '12345', account_type: 'checking' })),
      });
    await turn();
    await service.waitFor(/Could not export a batch of spans/, 20_000);
    for (let sent = 0; sent < 3; sent += 1) {
      await turn();
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const failures = await eventually(
      async () => {
        const text = await (await fetch(metricsUrl)).text();
        const value = Number(/^trace_export_failures_total (\d+)$/m.exec(text)?.[1]);
        expect(value).toBeGreaterThanOrEqual(2);
        return { value, text };
      },
      20_000,
      200,
    );
    expect(refusedBatches).toBeGreaterThanOrEqual(failures.value);
    // Rate-limited: one line for the first failure; the next comes a minute later at the earliest.
    expect(service.output().match(/Could not export/g)).toHaveLength(1);
    expect(service.output()).toMatch(/"level":"warn".*the spans are lost/);

    const notAfter = Number(/^tls_certificate_expiry_timestamp_seconds (\d+)$/m.exec(failures.text)?.[1]);
    const daysLeft = (notAfter * 1000 - Date.now()) / 86_400_000;
    // The development certificate is valid for about a year.
    expect(daysLeft).toBeGreaterThan(300);
    expect(daysLeft).toBeLessThan(400);
  });
});
