import { Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { makeKey, signJwt, type TestKey } from '../../auth/tokens/testing/local-server';
import { AppError } from '../../common/errors/app-error';
import {
  answerWithoutEnd,
  HUGE,
  listenOnLoopback,
  type LoopbackServer,
  MIB,
  type OversizedAnswer,
} from '../../common/http/testing/oversized-answer';
import { loadConfig, loadSections } from '../../config';
import { CONSOLE_OPTIONS, ConsoleOptions } from '../console.options';
import type { SessionRevocations } from '../sessions/session-revocations';
import { LoginFailed, OidcLogin } from './oidc-login';

const CLIENT_ID = 'console';

type Answer = 'normal' | 'endless' | 'declared';

let provider: LoopbackServer;
let key: TestKey;
let issuer: string;
/** How the provider answers each of its endpoints. */
let answers: Record<'discovery' | 'token' | 'jwks', Answer>;
let oversized: OversizedAnswer[];
/** The nonce the next ID token carries. */
let nonce: string;
let warnings: jest.SpyInstance;
/** How often the console posted its client secret to the token endpoint. */
let tokenRequests = 0;

function send(res: ServerResponse, answer: Answer, json: () => unknown): void {
  if (answer === 'normal') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(json()));
    return;
  }
  oversized.push(answerWithoutEnd(res, { prefix: '{"a":1', declaredLength: answer === 'declared' ? HUGE : undefined }));
}

beforeAll(async () => {
  key = await makeKey('console-key');
  provider = await listenOnLoopback((req, res) => {
    switch (req.url) {
      case '/.well-known/openid-configuration':
        return send(res, answers.discovery, () => ({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
        }));
      case '/jwks':
        return send(res, answers.jwks, () => ({ keys: [key.publicJwk] }));
      case '/token':
        tokenRequests += 1;
        void signJwt(key, {
          iss: issuer,
          aud: CLIENT_ID,
          sub: 'ada',
          nonce,
          roles: ['operator'],
          iat: Math.floor(Date.now() / 1000),
          exp: Math.floor(Date.now() / 1000) + 300,
        }).then((idToken) => send(res, answers.token, () => ({ id_token: idToken, token_type: 'Bearer' })));
        return;
      default:
        res.writeHead(404).end();
    }
  });
  issuer = provider.url('');
});

afterAll(() => provider.close());

beforeEach(() => {
  answers = { discovery: 'normal', token: 'normal', jwks: 'normal' };
  oversized = [];
  warnings = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
});

afterEach(() => warnings.mockRestore());

/** The used states as the database keeps them for every replica: each claimed once. */
function sharedUsedStates(): SessionRevocations & { claimed: Map<string, Date> } {
  const claimed = new Map<string, Date>();
  return {
    claimed,
    claimLoginState: (state: string, expiresAt: Date) =>
      Promise.resolve(!claimed.has(state) && Boolean(claimed.set(state, expiresAt))),
  } as unknown as SessionRevocations & { claimed: Map<string, Date> };
}

function login(usedStates = sharedUsedStates()): OidcLogin {
  const env = {
    ADMIN_OIDC_ISSUER: issuer,
    ADMIN_OIDC_CLIENT_ID: CLIENT_ID,
    ADMIN_OIDC_CLIENT_SECRET: 'secret',
    // The same on every replica, as in production: a state cookie one sealed, another opens.
    ADMIN_SESSION_SECRET: 'a-session-secret-of-at-least-32-characters',
  };
  const [options] = loadSections(loadConfig(env, '/srv'), [CONSOLE_OPTIONS]);
  return new OidcLogin(options.useValue as ConsoleOptions, usedStates);
}

/** Starts a sign-in and comes back from the provider with a code, as the browser would. */
async function signIn(oidcLogin: OidcLogin): Promise<unknown> {
  const { location, state } = await oidcLogin.begin();
  const query = new URL(location).searchParams;
  nonce = query.get('nonce') ?? '';
  return oidcLogin.complete({ code: 'the-code', state: query.get('state') }, state);
}

/** The one oversized answer the provider gave: the console closed the connection, having read a bounded amount. */
async function expectAbandoned(): Promise<void> {
  expect(oversized).toHaveLength(1);
  await expect(oversized[0].outcome).resolves.toBe('client-closed');
  // Socket buffers hold a few MiB; a reader without a limit takes all 64 MiB the server offers.
  expect(oversized[0].written()).toBeLessThan(32 * MIB);
}

describe('OidcLogin: the size of the provider’s answers', () => {
  it('signs in with answers of normal size', async () => {
    await expect(signIn(login())).resolves.toMatchObject({ subject: 'ada', roles: ['operator'], via: 'oidc' });
    expect(warnings).not.toHaveBeenCalled();
  });

  it.each<Answer>(['endless', 'declared'])(
    'fails the sign-in on a token answer over 1 MiB (%s), and reads no further',
    async (answer) => {
      answers.token = answer;
      const error = await signIn(login()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LoginFailed);
      const size = answer === 'endless' ? 'is larger than 1 MiB' : `declares ${HUGE} bytes, more than 1 MiB`;
      expect(error).toMatchObject({
        reason: 'code_exchange',
        message: `The identity provider did not exchange the code (the answer ${size}).`,
      });
      await expectAbandoned();
      expect(warnings).toHaveBeenCalledWith(
        `Refused the answer of the token endpoint ${issuer}/token: the answer ${size}; it was not read further`,
      );
    },
  );

  it('fails the sign-in on keys answered without end, and reads no further', async () => {
    answers.jwks = 'endless';
    const error = await signIn(login()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoginFailed);
    expect(error).toMatchObject({
      reason: 'id_token_invalid',
      message: "The identity provider's ID token did not verify: JWKS request refused: the answer is larger than 1 MiB",
    });
    await expectAbandoned();
  });

  it('cannot start a sign-in while the discovery document is answered without end', async () => {
    answers.discovery = 'endless';
    const error = await login()
      .begin()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE' });
    expect((error as Error).message).toContain('the answer is larger than 1 MiB');
    await expectAbandoned();
  });
});

describe('OidcLogin: one code exchange per sign-in', () => {
  it('refuses a state already exchanged on another replica, before the provider is asked, and keeps it as long as its cookie', async () => {
    const usedStates = sharedUsedStates();
    const [replicaA, replicaB] = [login(usedStates), login(usedStates)];
    const { location, state } = await replicaA.begin();
    const query = new URL(location).searchParams;
    nonce = query.get('nonce') ?? '';
    const answer = { code: 'the-code', state: query.get('state') };
    const before = tokenRequests;
    await expect(replicaA.complete(answer, state)).resolves.toMatchObject({ subject: 'ada' });
    // The provider would answer a second exchange as it did the first: only the console's record stops it.
    const again = await replicaB.complete(answer, state).catch((e: unknown) => e);
    expect(again).toMatchObject({ reason: 'state_reused' });
    expect(tokenRequests - before).toBe(1);
    const [kept] = [...usedStates.claimed.values()];
    expect(kept.getTime()).toBeGreaterThan(Date.now() + 10 * 60_000);
  });
});
