import { createServer, type Server } from 'node:net';
import { ListenError } from '../common/errors/listen-error';
import { loadConfig } from '../config';
import { assertPortsFree, plannedListeners, probePort } from './listeners';

async function occupy(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('listeners', () => {
  it('plans HTTP, gRPC, metrics and the console on their hosts, leaving out disabled ones and port 0', () => {
    const config = loadConfig(
      { PORT: '8081', GRPC_PORT: '50052', METRICS_PORT: '0', ADMIN_PORT: '9466', ADMIN_HOST: '::1' },
      '/srv',
    );
    expect(
      plannedListeners(config).map(({ listener, host, port, setting }) => [listener, host, port, setting]),
    ).toEqual([
      ['HTTP server', '127.0.0.1', 8081, 'PORT'],
      ['gRPC server', '127.0.0.1', 50052, 'GRPC_PORT'],
      ['admin server', '::1', 9466, 'ADMIN_PORT'],
    ]);
    const quiet = loadConfig({ GRPC_ENABLED: 'false', METRICS_ENABLED: 'false', ADMIN_ENABLED: 'false' }, '/srv');
    expect(plannedListeners(quiet).map((planned) => planned.listener)).toEqual(['HTTP server']);
  });

  it('refuses two listeners given one port, naming both settings (each alone found the port free)', async () => {
    const probe = loadConfig(
      { PORT: '8081', PROBE_PORT: '8081', GRPC_ENABLED: 'false', METRICS_ENABLED: 'false' },
      '/srv',
    );
    await expect(assertPortsFree(probe)).rejects.toThrow(
      'the probe server cannot listen on 127.0.0.1:8081 (PORT gives the HTTP server the same port); set PROBE_PORT to a free port',
    );
    const metrics = loadConfig({ PORT: '8081', GRPC_PORT: '9464', METRICS_PORT: '9464' }, '/srv');
    await expect(assertPortsFree(metrics)).rejects.toThrow(
      'the metrics server cannot listen on 127.0.0.1:9464 (GRPC_PORT gives the gRPC server the same port); set METRICS_PORT to a free port or METRICS_ENABLED=false',
    );
  });

  it('names a taken HTTP port in one line with the setting to change', async () => {
    const { server, port } = await occupy();
    try {
      const config = loadConfig({ PORT: String(port), GRPC_ENABLED: 'false', METRICS_ENABLED: 'false' }, '/srv');
      const error = await assertPortsFree(config).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ListenError);
      expect((error as Error).message).toBe(
        `the HTTP server cannot listen on 127.0.0.1:${port} (the port is already in use by another process); set PORT to a free port`,
      );
    } finally {
      server.close();
    }
  });

  it('names a taken gRPC port and offers turning gRPC off', async () => {
    const { server, port } = await occupy();
    try {
      const config = loadConfig({ PORT: '0', GRPC_PORT: String(port), METRICS_ENABLED: 'false' }, '/srv');
      await expect(assertPortsFree(config)).rejects.toThrow(
        `the gRPC server cannot listen on 127.0.0.1:${port} (the port is already in use by another process); set GRPC_PORT to a free port or GRPC_ENABLED=false`,
      );
    } finally {
      server.close();
    }
  });

  it('explains an address that is not on this machine, with brackets for IPv6', async () => {
    const planned = { listener: 'HTTP server', host: '2001:db8::1', port: 8080, setting: 'PORT' };
    await expect(probePort(planned)).rejects.toThrow(
      'the HTTP server cannot listen on [2001:db8::1]:8080 (the address does not belong to this machine); set PORT to a free port',
    );
  });

  it('frees the port it probed', async () => {
    const { server, port } = await occupy();
    await new Promise((resolve) => server.close(resolve));
    const planned = { listener: 'HTTP server', host: '127.0.0.1', port, setting: 'PORT' };
    await probePort(planned);
    await probePort(planned);
  });
});
