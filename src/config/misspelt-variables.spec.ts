import { countBound, editDistance, misspeltVariables } from './misspelt-variables';

const KNOWN = new Set([
  'PORT',
  'HOST',
  'NODE_ENV',
  'LOG_LEVEL',
  'THROTTLE_LIMIT',
  'DATABASE_URL',
  'DB_POOL_SIZE',
  'METRICS_PORT',
  'TLS_CERT_FILE',
  'GRPC_PORT',
  'CALLBACK_TIMEOUT_MS',
]);

/** The variables warned of, in order. */
function flagged(source: Record<string, string>): string[] {
  return misspeltVariables(source, KNOWN).map((warning) => warning.slice(0, warning.indexOf(' ')));
}

describe('editDistance (optimal string alignment)', () => {
  it.each<[string, string, number]>([
    ['THROTTLE_LIMIT', 'THROTTLE_LIMIT', 0],
    ['THROTLE_LIMIT', 'THROTTLE_LIMIT', 1],
    ['DATABSE_URL', 'DATABASE_URL', 1],
    ['DATAABSE_URL', 'DATABASE_URL', 1],
    ['LOG_LVEEL', 'LOG_LEVEL', 1],
    ['DB_POOL_SIZ', 'DB_POOL_SIZE', 1],
    ['REDIS_URI', 'REDIS_URL', 1],
    ['ABC', 'XYZ', 3],
    ['THROTTLE_LIMIT', 'TLS_CERT_FILE', 11],
    ['AB_CD', 'BA_DC', 2],
    ['', 'PORT', 4],
  ])('%s to %s is %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
    expect(editDistance(a, b, 2)).toBe(Math.min(distance, 3));
  });
});

describe('misspeltVariables', () => {
  it('names the variable meant, never the value', () => {
    expect(misspeltVariables({ THROTLE_LIMIT: '1200', DATABSE_URL: 'postgres://u:s3cret@h/db' }, KNOWN)).toEqual([
      'THROTLE_LIMIT is not a variable of the service and is ignored: did you mean THROTTLE_LIMIT?',
      'DATABSE_URL is not a variable of the service and is ignored: did you mean DATABASE_URL?',
    ]);
  });

  it('takes up to two edits, and the same name under another prefix or with one added', () => {
    expect(
      flagged({
        THROTTLE_LIMTI: '1',
        THROTTLE_LIM: '1',
        DATABASE_POOL_SIZE: '1',
        PG_POOL_SIZE: '1',
        APP_DATABASE_URL: 'x',
        LOGLEVEL: 'debug',
        THROTTLE_LIMIT: '1',
      }),
    ).toEqual(['THROTTLE_LIMTI', 'THROTTLE_LIM', 'DATABASE_POOL_SIZE', 'PG_POOL_SIZE', 'APP_DATABASE_URL', 'LOGLEVEL']);
  });

  it('leaves alone names too far off, short ones, a one-word name under a prefix, another thing’s setting', () => {
    expect(
      flagged({
        THROTTLING: '1',
        PGPORT: '5432',
        PORTS: '1',
        WEBHOOK_HOST: 'x',
        LANG: 'C',
        SOMETHING_ELSE: 'x',
        // A setting of the same kind of something else (the commerce domain's carrier), not CALLBACK_TIMEOUT_MS.
        CARRIER_TIMEOUT_MS: '1500',
      }),
    ).toEqual([]);
  });

  it('leaves alone the platform’s, the runtime’s and other programs’ variables', () => {
    expect(
      flagged({
        PATH: '/usr/bin',
        HOME: '/root',
        HOSTNAME: 'pod-1',
        KUBERNETES_SERVICE_HOST: '10.0.0.1',
        KUBERNETES_PORT_443_TCP_PORT: '443',
        NODE_ENVIRONMENT: 'x',
        NODE_OPTIONS: '--max-old-space-size=512',
        npm_config_cache: '/tmp',
        OTEL_SERVICE_NAMES: 'x',
        SSL_CERT_FILE: '/etc/ssl/ca.pem',
        GRPC_TRACE: 'all',
        GRPC_VERBOSITY: 'debug',
        // Kubernetes service links of a Service named "metric" or "db-pool".
        METRIC_PORT: 'tcp://10.0.0.7:9464',
        METRIC_SERVICE_PORT: '9464',
        METRIC_SERVICE_HOST: '10.0.0.7',
        METRIC_PORT_9464_TCP_ADDR: '10.0.0.7',
        DB_POOL_SERVICE_PORT_METRICS: '9187',
      }),
    ).toEqual([]);
    // Not a service link: a number.
    expect(flagged({ METRIC_PORT: '9464' })).toEqual(['METRIC_PORT']);
  });
});

describe('countBound', () => {
  it('is never more than the edit distance, so it passes over no misspelling', () => {
    const letters = 'ABCDE_1';
    let seed = 7;
    const random = (n: number): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) % n;
    const word = (): string => Array.from({ length: 3 + random(8) }, () => letters[random(letters.length)]).join('');
    for (let pair = 0; pair < 5_000; pair++) {
      const [a, b] = [word(), word()];
      expect({ a, b, bound: countBound(a, b) <= editDistance(a, b) }).toEqual({ a, b, bound: true });
    }
    expect(countBound('DATABSE_URL', 'DATABASE_URL')).toBe(1);
    expect(countBound('THROTTLE_LIMIT', 'THROTTEL_LIMIT')).toBe(0);
    expect(countBound('REDIS_URL', 'GRPC_PORT')).toBeGreaterThan(2);
  });
});
