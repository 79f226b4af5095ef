import 'reflect-metadata';

import { createHmac, randomBytes } from 'node:crypto';
import type { AuditLog, AuditRecord } from '../audit/audit-log';
import { SystemClock } from '../common/clock';
import { IpRanges } from '../common/net/client-address';
import { AppError } from '../common/errors/app-error';
import { loadConfig } from '../config';
import type { ConnectionSecurity } from './auth-attempt';
import { CallerAuthenticator, CredentialSource } from './caller-authenticator';
import type { RegisteredCaller } from './callers/caller';
import { CallerRegistry, LOCAL_DEV_TOKEN, localDevCallers } from './callers/caller-registry';
import { digestToken } from './callers/callers-file';
import type { ReplayStore } from './replay/replay-store';
import { BasicBackoff } from './strategies/basic-backoff';
import { PasswordCheckBudget } from './strategies/password-check-budget';
import { BasicStrategy } from './strategies/basic.strategy';
import { BearerStrategy } from './strategies/bearer.strategy';
import { HeaderSignatureStrategy } from './strategies/header-signature.strategy';
import { MtlsStrategy } from './strategies/mtls.strategy';
import { QueryTokenStrategy } from './strategies/query-token.strategy';
import { StandardWebhooksStrategy } from './strategies/standard-webhooks.strategy';
import type { TokenStrategies } from './strategies/token.strategies';

const TOKEN = 'unit-token-0123456789abcdef';
const KEY = randomBytes(32);
const CALLERS: RegisteredCaller[] = [
  { id: 'bot', platforms: ['generic'], auth: { bearer: { tokenDigests: [digestToken(TOKEN)] } } },
  { id: 'signer', platforms: ['dialogflow-es'], auth: { standardWebhooks: { secrets: [KEY] } } },
  {
    id: 'cert-bot',
    platforms: ['generic'],
    certificate: { subjectCNs: ['cert-bot'], dnsSANs: [], uriSANs: [] },
    auth: { mtls: {} },
  },
];
const TLS: ConnectionSecurity = { encrypted: true, clientCertificateVerified: false };

function setup(env: Record<string, string> = {}, registry = new CallerRegistry(CALLERS, '/etc/callers.yaml')) {
  const records: AuditRecord[] = [];
  const audit = { record: (record: AuditRecord) => records.push(record) } as unknown as AuditLog;
  const config = loadConfig(env, '/srv');
  const replays = { remember: () => Promise.resolve(true) } as unknown as ReplayStore;
  const tokens = {} as TokenStrategies;
  const authenticator = new CallerAuthenticator(
    new StandardWebhooksStrategy(registry, replays),
    new HeaderSignatureStrategy(registry),
    new BearerStrategy(registry, tokens),
    new BasicStrategy(registry, config, new BasicBackoff(config, new SystemClock()), new PasswordCheckBudget(config)),
    new QueryTokenStrategy(registry),
    new MtlsStrategy(registry),
    registry,
    audit,
    config,
  );
  return { authenticator, records };
}

function source(headers: Record<string, string>, extra: Partial<CredentialSource> = {}): CredentialSource {
  return {
    headers,
    rawHeaders: Object.entries(headers).flat(),
    connection: TLS,
    remoteAddress: '10.0.0.1',
    requestId: 'req-1',
    ...extra,
  };
}

function signed(body: Buffer): Record<string, string> {
  const id = 'msg_1';
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = createHmac('sha256', KEY).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `v1,${signature}` };
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error: unknown) {
    return error as AppError;
  }
  throw new Error('expected a refusal');
}

describe('CallerAuthenticator', () => {
  it('authenticates a bearer token and names the method', async () => {
    const { authenticator } = setup();
    const result = await authenticator.authenticate(source({ authorization: `Bearer ${TOKEN}` }));
    expect(result.caller.id).toBe('bot');
    expect(result.method).toBe('bearer');
  });

  it('checks a signature over the signed bytes when the transport has them', async () => {
    const { authenticator } = setup();
    const body = Buffer.from('{"a":1}');
    const result = await authenticator.authenticate(source(signed(body), { signedBody: body }));
    expect(result).toMatchObject({ caller: { id: 'signer' }, method: 'standardWebhooks' });
  });

  it('ignores signature headers when there are no signed bytes (gRPC Fulfill): no credentials', async () => {
    const { authenticator, records } = setup();
    const error = await refusal(authenticator.authenticate(source(signed(Buffer.from('{}')))));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(records).toEqual([expect.objectContaining({ event: 'authn_login_fail', reason: 'no-credentials' })]);
  });

  it('refuses a credential header sent twice as a malformed request', async () => {
    const { authenticator, records } = setup();
    const error = await refusal(
      authenticator.authenticate({
        ...source({ authorization: `Bearer ${TOKEN}` }),
        rawHeaders: ['authorization', `Bearer ${TOKEN}`, 'authorization', 'Bearer other'],
      }),
    );
    expect(error.code).toBe('MALFORMED_REQUEST');
    expect(records[0]).toMatchObject({ event: 'input_validation_fail', reason: 'duplicate-header' });
  });

  it('refuses a presented certificate that failed verification, even with a good token', async () => {
    const { authenticator, records } = setup();
    const connection: ConnectionSecurity = {
      encrypted: true,
      clientCertificateVerified: false,
      clientCertificateError: 'CERT_HAS_EXPIRED',
      peer: { subjectCN: 'cert-bot', dnsSANs: [], uriSANs: [] },
    };
    const error = await refusal(
      authenticator.authenticate(source({ authorization: `Bearer ${TOKEN}` }, { connection })),
    );
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(records[0]).toMatchObject({ method: 'mtls', reason: 'certificate-expired', requestId: 'req-1' });
  });

  it('takes a verified certificate alone as the credential', async () => {
    const { authenticator } = setup();
    const connection: ConnectionSecurity = {
      encrypted: true,
      clientCertificateVerified: true,
      peer: { subjectCN: 'cert-bot', dnsSANs: [], uriSANs: [] },
    };
    const result = await authenticator.authenticate(source({}, { connection }));
    expect(result).toMatchObject({ caller: { id: 'cert-bot' }, method: 'mtls' });
  });

  it('refuses a certificate verified at the handshake that has expired since, on a kept-alive connection', async () => {
    const { authenticator, records } = setup();
    const peer = { subjectCN: 'cert-bot', dnsSANs: [], uriSANs: [] };
    const valid: ConnectionSecurity = {
      ...TLS,
      clientCertificateVerified: true,
      peer,
      certificateValidUntil: Date.now() + 60_000,
    };
    await expect(authenticator.authenticate(source({}, { connection: valid }))).resolves.toMatchObject({
      caller: { id: 'cert-bot' },
    });
    // Before, it was taken for as long as the connection lived (a gRPC channel: up to 30 minutes).
    const expired: ConnectionSecurity = { ...valid, certificateValidUntil: Date.now() - 1_000 };
    const error = await refusal(authenticator.authenticate(source({}, { connection: expired })));
    expect(error.code).toBe('UNAUTHENTICATED');
    expect(records.at(-1)).toMatchObject({ method: 'mtls', reason: 'certificate-expired' });
  });

  it('authorizes per platform and audits a refusal', async () => {
    const { authenticator, records } = setup();
    const request = source({ authorization: `Bearer ${TOKEN}` });
    const authenticated = await authenticator.authenticate(request);
    expect(() => authenticator.authorize(authenticated, 'generic', request)).not.toThrow();
    expect(() => authenticator.authorize(authenticated, 'lex-v2', request)).toThrow(AppError);
    expect(records).toEqual([
      expect.objectContaining({
        event: 'authz_fail',
        callerId: 'bot',
        reason: 'platform-not-allowed',
        detail: 'lex-v2',
      }),
    ]);
  });

  it('refuses (403, audited) a caller with sourceRanges calling from outside them', async () => {
    const ranged: RegisteredCaller = {
      ...CALLERS[0],
      sourceRanges: IpRanges.parse(['203.0.113.0/24', '2001:db8::/32']).ranges,
    };
    const { authenticator, records } = setup({}, new CallerRegistry([ranged], '/etc/callers.yaml'));
    const from = async (remoteAddress: string) => {
      const request = source({ authorization: `Bearer ${TOKEN}` }, { remoteAddress });
      const authenticated = await authenticator.authenticate(request);
      return () => authenticator.checkSource(authenticated, request);
    };
    expect(await from('203.0.113.9')).not.toThrow();
    expect(await from('::ffff:203.0.113.9')).not.toThrow();
    expect(await from('2001:db8:5::1')).not.toThrow();
    expect(await from('198.51.100.1')).toThrow(expect.objectContaining({ code: 'FORBIDDEN' }));
    expect(records).toEqual([
      expect.objectContaining({
        event: 'authz_fail',
        callerId: 'bot',
        reason: 'source-not-allowed',
        detail: '198.51.100.1',
      }),
    ]);
  });

  it('lets a caller without sourceRanges call from anywhere', () => {
    const { authenticator } = setup();
    const request = source({ authorization: `Bearer ${TOKEN}` }, { remoteAddress: '198.51.100.1' });
    expect(() => authenticator.checkSource({ caller: CALLERS[0], method: 'bearer' }, request)).not.toThrow();
  });

  describe('a static token in the query (routes that take one, e.g. Rasa’s ?token=)', () => {
    it('authenticates the caller whose bearer token it is', async () => {
      const { authenticator } = setup();
      const result = await authenticator.authenticate(source({}, { queryTokens: [TOKEN] }));
      expect(result).toMatchObject({ caller: { id: 'bot' }, method: 'bearer' });
    });

    it('refuses a wrong token (401) or one sent twice (400, like a repeated header), auditing without the token', async () => {
      const { authenticator, records } = setup();
      for (const [queryTokens, code] of [
        [['wrong-token-value'], 'UNAUTHENTICATED'],
        [[TOKEN, TOKEN], 'MALFORMED_REQUEST'],
        [[''], 'UNAUTHENTICATED'],
      ] as const) {
        const error = await refusal(authenticator.authenticate(source({}, { queryTokens })));
        expect(error.code).toBe(code);
      }
      expect(records.map((record) => [record.event, record.reason])).toEqual([
        ['authn_login_fail', 'unknown-token'],
        ['input_validation_fail', 'duplicate-header'],
        ['authn_login_fail', 'unknown-token'],
      ]);
      expect(JSON.stringify(records)).not.toContain(TOKEN);
      expect(JSON.stringify(records)).not.toContain('wrong-token-value');
    });

    it('comes after the Authorization header', async () => {
      const { authenticator } = setup();
      const result = await authenticator.authenticate(
        source({ authorization: `Bearer ${TOKEN}` }, { queryTokens: ['wrong-token-value'] }),
      );
      expect(result.caller.id).toBe('bot');
    });

    it('is no credential where the route takes none (no queryTokens)', async () => {
      const { authenticator, records } = setup();
      expect((await refusal(authenticator.authenticate(source({})))).code).toBe('UNAUTHENTICATED');
      expect(records[0]).toMatchObject({ reason: 'no-credentials' });
    });
  });

  describe('the local development caller (no callers file)', () => {
    const dev = (): ReturnType<typeof setup> => setup({}, new CallerRegistry(localDevCallers()));
    const devToken = { authorization: `Bearer ${LOCAL_DEV_TOKEN}` };

    it.each(['127.0.0.1', '::1', '::ffff:127.0.0.1', '[::1]'])(
      'is accepted from loopback address %s',
      async (address) => {
        const result = await dev().authenticator.authenticate(source(devToken, { remoteAddress: address }));
        expect(result.caller.id).toBe('local-dev');
      },
    );

    it.each(['10.0.0.7', '192.168.1.20', '::ffff:10.1.2.3', 'fe80::1', undefined])(
      'is refused from %s like any bad credential, and the reason is audited',
      async (address) => {
        const { authenticator, records } = dev();
        const error = await refusal(authenticator.authenticate(source(devToken, { remoteAddress: address })));
        expect(error.code).toBe('UNAUTHENTICATED');
        expect(error.message).toBe('Missing or invalid credentials.');
        expect(records).toEqual([
          expect.objectContaining({ event: 'authn_login_fail', reason: 'loopback-only', callerId: 'local-dev' }),
        ]);
      },
    );
  });
});
