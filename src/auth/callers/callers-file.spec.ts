import 'reflect-metadata';

import { CallersFileError, parseCallers } from './callers-file';

const SOURCE = '/etc/webhook/callers.yaml';

function parse(auth: string) {
  return parseCallers(`callers:\n  - id: a\n    platforms: [generic]\n    auth: ${auth}\n`, SOURCE)[0]?.auth;
}

function problemsOf(auth: string): string[] {
  try {
    parse(auth);
  } catch (error: unknown) {
    expect(error).toBeInstanceOf(CallersFileError);
    return (error as CallersFileError).problems;
  }
  throw new Error('expected a CallersFileError');
}

const JWT = 'issuer: https://idp.example, audience: webhook, jwksUri: https://idp.example/jwks';
const K8S =
  'issuer: https://kubernetes.default.svc, audience: webhook, serviceAccounts: ["system:serviceaccount:bots:df"]';

describe('callers file: token options (issue 18)', () => {
  it('defaults: any access-token typ, default lifetime, no TokenReview', () => {
    expect(parse(`{ jwt: { ${JWT} } }`)?.jwt).toMatchObject({ requireAccessTokenType: false });
    expect(parse(`{ jwt: { ${JWT} } }`)?.jwt?.maxLifetimeSeconds).toBeUndefined();
    expect(parse(`{ kubernetes: { ${K8S} } }`)?.kubernetes?.tokenReview).toBeUndefined();
  });

  it('reads requireAccessTokenType and maxLifetimeSeconds', () => {
    const auth = parse(`{ jwt: { ${JWT}, requireAccessTokenType: true, maxLifetimeSeconds: 3600 } }`);
    expect(auth?.jwt).toMatchObject({ requireAccessTokenType: true, maxLifetimeSeconds: 3600 });
  });

  it('refuses a maxLifetimeSeconds outside 60..2592000', () => {
    expect(problemsOf(`{ jwt: { ${JWT}, maxLifetimeSeconds: 30 } }`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.jwt.maxLifetimeSeconds: must be an integer from 60 to 2592000`,
    ]);
    expect(
      problemsOf(`{ googleIdToken: { audience: x, emails: [a@b.c], maxLifetimeSeconds: 99999999 } }`),
    ).toHaveLength(1);
  });

  it('tokenReview: {} means the in-cluster API server with this pod’s own token and CA', () => {
    expect(parse(`{ kubernetes: { ${K8S}, tokenReview: {} } }`)?.kubernetes?.tokenReview).toEqual({
      url: 'https://kubernetes.default.svc',
      tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
      caFile: '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt',
    });
  });

  it('refuses a plain-http TokenReview URL and unknown tokenReview settings', () => {
    expect(problemsOf(`{ kubernetes: { ${K8S}, tokenReview: { url: "http://10.0.0.1" } } }`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.kubernetes.tokenReview.url: must be https`,
    ]);
    expect(problemsOf(`{ kubernetes: { ${K8S}, tokenReview: { insecure: true } } }`)).toEqual([
      `CALLERS_FILE ${SOURCE}: callers[0].auth.kubernetes.tokenReview.insecure: is not a known setting`,
    ]);
  });
});
