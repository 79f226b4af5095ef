import { hashPassword } from '../passwords';
import 'reflect-metadata';

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../config';
import { CallerRegistry, LOCAL_DEV_CALLER_ID, LOCAL_DEV_TOKEN, localDevCallers } from './caller-registry';
import { CallersFileError, digestToken, loadCallersFile, parseCallers } from './callers-file';
import { PLATFORMS } from '../../common/platform';

const SOURCE = '/etc/webhook/callers.yaml';
const PROD_TOKEN = 'prod-token-0123456789abcdef';
const PROD_PREVIOUS_TOKEN = 'prod-previous-token-fedcba9876543210';
const LEX_TOKEN = 'lex-token-0123456789abcdef';

const VALID_FILE = `
callers:
  - id: dialogflow-prod
    platforms: [dialogflow-es, dialogflow-cx]
    auth:
      bearer:
        tokens:
          - ${PROD_TOKEN}
          - ${PROD_PREVIOUS_TOKEN}
  - id: lex.eu_1
    platforms: [lex-v2]
    auth:
      bearer:
        tokens: [${LEX_TOKEN}]
`;

/** Runs parseCallers expecting a CallersFileError, and returns its problems. */
function problemsOf(yaml: string, source = SOURCE): string[] {
  let caught: unknown;
  try {
    parseCallers(yaml, source);
  } catch (error: unknown) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CallersFileError);
  return (caught as CallersFileError).problems;
}

/** A one-caller file with the given entry fields (YAML lines indented under `- `). */
function fileWith(entry: string): string {
  return `callers:\n  - ${entry.trim().split('\n').join('\n    ')}\n`;
}

describe('digestToken', () => {
  it('is the SHA-256 digest of the UTF-8 token', () => {
    expect(digestToken('abc').toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(digestToken('€')).toHaveLength(32);
    expect(digestToken('a').equals(digestToken('b'))).toBe(false);
  });
});

describe('parseCallers', () => {
  it('reads every caller with its platforms and token digests', () => {
    const callers = parseCallers(VALID_FILE, SOURCE);
    expect(callers.map(({ id, platforms }) => ({ id, platforms }))).toEqual([
      { id: 'dialogflow-prod', platforms: ['dialogflow-es', 'dialogflow-cx'] },
      { id: 'lex.eu_1', platforms: ['lex-v2'] },
    ]);
    expect(callers[0]?.auth.bearer?.tokenDigests).toEqual([digestToken(PROD_TOKEN), digestToken(PROD_PREVIOUS_TOKEN)]);
    expect(callers[1]?.auth.bearer?.tokenDigests).toEqual([digestToken(LEX_TOKEN)]);
  });

  it('keeps only digests, never the tokens themselves', () => {
    const serialised = JSON.stringify(parseCallers(VALID_FILE, SOURCE));
    expect(serialised).not.toContain(PROD_TOKEN);
    expect(serialised).not.toContain(LEX_TOKEN);
  });

  it('is a ConfigError, so start-up reports it like other configuration problems', () => {
    expect(() => parseCallers('callers: []', SOURCE)).toThrow(ConfigError);
  });

  describe('invalid YAML', () => {
    it('reports one problem saying the file is not valid YAML', () => {
      const problems = problemsOf('callers:\n  - id: [unclosed\n    platforms: {');
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain('not valid YAML');
      expect(problems[0]).toContain(SOURCE);
      expect(problems[0]).not.toContain('\n');
    });
  });

  describe('the callers list', () => {
    it.each<[string, string]>([
      ['an empty file', ''],
      ['a scalar document', 'just a string'],
      ['no callers key', 'clients:\n  - id: a\n'],
      ['an empty list', 'callers: []'],
      ['a mapping instead of a list', 'callers:\n  id: a\n'],
      ['a null list', 'callers:'],
    ])('is required (%s)', (_label, yaml) => {
      const problems = problemsOf(yaml);
      expect(problems).toEqual([`CALLERS_FILE ${SOURCE}: needs a non-empty "callers" list`]);
    });
  });

  describe('each kind of mistake names its exact path', () => {
    const good = `
platforms: [generic]
auth:
  bearer:
    tokens: [${PROD_TOKEN}]`;

    it.each<[string, string, string]>([
      ['a missing id', good, 'callers[0].id:'],
      ['an id with a space', `id: dialog flow\n${good}`, 'callers[0].id:'],
      ['an id starting with a dash', `id: -prod\n${good}`, 'callers[0].id:'],
      ['an id longer than 64 characters', `id: ${'a'.repeat(65)}\n${good}`, 'callers[0].id:'],
      ['a numeric id', `id: 42\n${good}`, 'callers[0].id:'],
      [
        'an unknown platform',
        `id: a\nplatforms: [dialogflow-es, alexa]\nauth:\n  bearer:\n    tokens: [${PROD_TOKEN}]`,
        'callers[0].platforms:',
      ],
      [
        'empty platforms',
        `id: a\nplatforms: []\nauth:\n  bearer:\n    tokens: [${PROD_TOKEN}]`,
        'callers[0].platforms:',
      ],
      ['missing platforms', `id: a\nauth:\n  bearer:\n    tokens: [${PROD_TOKEN}]`, 'callers[0].platforms:'],
      [
        'a platforms string',
        `id: a\nplatforms: generic\nauth:\n  bearer:\n    tokens: [${PROD_TOKEN}]`,
        'callers[0].platforms:',
      ],
      [
        'a short token',
        `id: a\nplatforms: [generic]\nauth:\n  bearer:\n    tokens: [short-token]`,
        'callers[0].auth.bearer.tokens:',
      ],
      [
        'one short token among good ones',
        `id: a\nplatforms: [generic]\nauth:\n  bearer:\n    tokens: [${PROD_TOKEN}, 123456789012345]`,
        'callers[0].auth.bearer.tokens:',
      ],
      [
        'an empty tokens list',
        `id: a\nplatforms: [generic]\nauth:\n  bearer:\n    tokens: []`,
        'callers[0].auth.bearer.tokens:',
      ],
      ['missing tokens', `id: a\nplatforms: [generic]\nauth:\n  bearer: {}`, 'callers[0].auth.bearer.tokens:'],
      ['missing auth', `id: a\nplatforms: [generic]`, 'callers[0].auth: is required'],
      [
        'a numeric token',
        `id: a\nplatforms: [generic]\nauth:\n  bearer:\n    tokens: [12345678901234567890]`,
        'callers[0].auth.bearer.tokens:',
      ],
    ])('%s', (_label, entry, path) => {
      const problems = problemsOf(fileWith(entry));
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(`CALLERS_FILE ${SOURCE}: ${path}`);
    });

    it('a duplicate id, on the second occurrence, whatever its case', () => {
      const entry = (id: string, n: number) => `
  - id: ${id}
    platforms: [generic]
    auth:
      bearer:
        tokens: [${PROD_TOKEN}-${n}]`;
      const problems = problemsOf(`callers:${entry('a', 1)}${entry('b', 2)}${entry('A', 3)}`);
      expect(problems).toEqual([`CALLERS_FILE ${SOURCE}: callers[2].id: "A" is used twice`]);
    });

    it('a token listed for two callers', () => {
      const entry = (id: string) => `
  - id: ${id}
    platforms: [generic]
    auth:
      bearer:
        tokens: [${PROD_TOKEN}]`;
      const problems = problemsOf(`callers:${entry('a')}${entry('b')}`);
      expect(problems).toEqual([
        `CALLERS_FILE ${SOURCE}: callers[1].auth.bearer.tokens: a token is also listed for callers[0]`,
      ]);
    });

    it('a signing secret or a basic username shared by two callers (the first listed would take every request)', async () => {
      const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
      const hash = await hashPassword('a password for both');
      const entry = (id: string) => `
  - id: ${id}
    platforms: [generic]
    auth:
      standardWebhooks:
        secrets: [${secret}]
      headerSignature:
        header: x-signature
        secrets: [shared-header-secret-0123456789]
      basic:
        username: bot
        passwordHashes: ['${hash}']`;
      expect(problemsOf(`callers:${entry('a')}${entry('b')}`)).toEqual([
        `CALLERS_FILE ${SOURCE}: callers[1].auth.standardWebhooks.secrets: a secret is also listed for callers[0]`,
        `CALLERS_FILE ${SOURCE}: callers[1].auth.headerSignature.secrets: a secret is also listed for callers[0] with the same header`,
        `CALLERS_FILE ${SOURCE}: callers[1].auth.basic.username: "bot" is also the username of callers[0]`,
      ]);
    });

    it('two mtls callers bound to one certificate name (the first listed took every request made with it)', () => {
      const entry = (id: string, certificate: string, auth = 'mtls: {}') => `
  - id: ${id}
    platforms: [generic]
    certificate: ${certificate}
    auth:
      ${auth}`;
      const uri = 'spiffe://bank.example/ns/bots/sa/dialogflow';
      expect(problemsOf(`callers:${entry('a', `{ uriSAN: ${uri} }`)}${entry('b', `{ uriSAN: ${uri} }`)}`)).toEqual([
        `CALLERS_FILE ${SOURCE}: callers[1].certificate.uriSAN: "${uri}" also names the client certificate of ` +
          'callers[0], and both authenticate by that certificate alone (auth.mtls)',
      ]);
      // One shared name among others is enough: a certificate with it satisfies both bindings.
      expect(
        problemsOf(
          `callers:${entry('a', '{ subjectCN: [bot-a, shared-bot] }')}${entry('b', '{ subjectCN: shared-bot, dnsSAN: b.example }')}${entry('c', '{ dnsSAN: [c.example, b.example] }')}`,
        ),
      ).toEqual([
        `CALLERS_FILE ${SOURCE}: callers[1].certificate.subjectCN: "shared-bot" also names the client certificate of ` +
          'callers[0], and both authenticate by that certificate alone (auth.mtls)',
        `CALLERS_FILE ${SOURCE}: callers[2].certificate.dnsSAN: "b.example" also names the client certificate of ` +
          'callers[1], and both authenticate by that certificate alone (auth.mtls)',
      ]);
      // Told apart: different names, the same name in another field, or a second caller that needs a token as well.
      const token = `bearer: { tokens: [${PROD_TOKEN}] }`;
      expect(
        parseCallers(
          `callers:${entry('a', '{ subjectCN: bot-a }')}${entry('b', '{ subjectCN: bot-b, dnsSAN: bot-a }')}${entry('c', '{ subjectCN: bot-a }', token)}`,
          SOURCE,
        ),
      ).toHaveLength(3);
    });

    it('two JWT callers a token could name both of (one issuer and audience, overlapping subjects, not both bound)', () => {
      const entry = (id: string, extra: string, subjects = '[]') => `
  - id: ${id}
    platforms: [generic]${extra}
    auth:
      jwt: { issuer: 'https://idp.bank.example/', audience: webhook, jwksUri: 'https://idp.bank.example/jwks', subjects: ${subjects} }`;
      const bound = (cn: string) => `\n    certificate: { subjectCN: ${cn} }`;
      const message = (a: string, b: string) =>
        `CALLERS_FILE ${SOURCE}: callers "${a}" and "${b}" both take JWTs of https://idp.bank.example/ for webhook ` +
        'with the same subjects: give each its own subjects (or audience), or bind both to client certificates';
      // Any subject and one of them; one of the two bound: the first listed took the other's tokens.
      expect(problemsOf(`callers:${entry('a', '')}${entry('b', bound('b'), '[svc-b]')}`)).toEqual([message('a', 'b')]);
      expect(problemsOf(`callers:${entry('a', '', '[x, y]')}${entry('b', '', '[y]')}`)).toEqual([message('a', 'b')]);
      // Told apart by their subjects, or by the certificate each connection presents.
      expect(parseCallers(`callers:${entry('a', '', '[x]')}${entry('b', '', '[y]')}`, SOURCE)).toHaveLength(2);
      expect(parseCallers(`callers:${entry('a', bound('a'))}${entry('b', bound('b'))}`, SOURCE)).toHaveLength(2);
    });

    it('a null entry', () => {
      const problems = problemsOf(`callers:\n  - \n`);
      expect(problems).toEqual([`CALLERS_FILE ${SOURCE}: callers[0]: must be a mapping with id, platforms and auth`]);
    });

    it('the platform list in the message', () => {
      const problems = problemsOf(fileWith(`id: a\nplatforms: [x]\nauth:\n  bearer:\n    tokens: [${PROD_TOKEN}]`));
      for (const platform of PLATFORMS) expect(problems[0]).toContain(platform);
    });
  });

  describe('sourceRanges', () => {
    const ranged = (ranges: string) =>
      fileWith(
        `id: ranged\nplatforms: [generic]\nsourceRanges: ${ranges}\nauth:\n  bearer:\n    tokens: [${PROD_TOKEN}]`,
      );

    it('reads IPv4 and IPv6 CIDR ranges into an allowlist', () => {
      const [caller] = parseCallers(ranged('[203.0.113.0/24, "2001:db8::/32", 192.0.2.7]'), SOURCE);
      expect(caller.sourceRanges?.contains('203.0.113.200')).toBe(true);
      expect(caller.sourceRanges?.contains('2001:db8:ffff::1')).toBe(true);
      expect(caller.sourceRanges?.contains('192.0.2.7')).toBe(true);
      expect(caller.sourceRanges?.contains('192.0.2.8')).toBe(false);
      expect(parseCallers(VALID_FILE, SOURCE)[0].sourceRanges).toBeUndefined();
    });

    it('stops start-up on a bad range, naming the caller and the entry', () => {
      expect(problemsOf(ranged('[10.0.0.0/8, 10.0.0.0/33, "bank.example"]'))).toEqual([
        `CALLERS_FILE ${SOURCE}: callers[0].sourceRanges: caller "ranged": not IPv4/IPv6 CIDR ranges: "10.0.0.0/33", "bank.example"`,
      ]);
    });

    it('refuses an empty list or a non-list', () => {
      expect(problemsOf(ranged('[]'))[0]).toContain('callers[0].sourceRanges: must list one or more IPv4/IPv6 CIDR');
      expect(problemsOf(ranged('10.0.0.0/8'))[0]).toContain('callers[0].sourceRanges: must list one or more');
    });
  });

  it('reports several mistakes at once, across callers', () => {
    const yaml = `
callers:
  - id: ok
    platforms: [generic]
    auth:
      bearer:
        tokens: [${PROD_TOKEN}]
  - id: bad id
    platforms: []
    auth:
      bearer:
        tokens: [${LEX_TOKEN}]
  - id: ok
    platforms: [rasa]
    auth:
      bearer:
        tokens: [tiny]
`;
    const problems = problemsOf(yaml);
    const where = `CALLERS_FILE ${SOURCE}: `;
    expect(problems).toHaveLength(4);
    expect(problems[0]).toContain(`${where}callers[1].id:`);
    expect(problems[1]).toContain(`${where}callers[1].platforms:`);
    expect(problems[2]).toContain(`${where}callers[2].id: "ok" is used twice`);
    expect(problems[3]).toContain(`${where}callers[2].auth.bearer.tokens:`);
  });

  it('never echoes a token in a problem', () => {
    const problems = problemsOf(
      fileWith(`id: a\nplatforms: [nope]\nauth:\n  bearer:\n    tokens: [${PROD_TOKEN}, short]`),
    );
    expect(problems.join('\n')).not.toContain(PROD_TOKEN);
    expect(problems.join('\n')).not.toContain('short]');
  });
});

describe('loadCallersFile', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'callers-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads and parses a file', () => {
    const path = join(dir, 'callers.yaml');
    writeFileSync(path, VALID_FILE, 'utf8');
    expect(loadCallersFile(path).map((c) => c.id)).toEqual(['dialogflow-prod', 'lex.eu_1']);
  });

  it('names the file in parse problems', () => {
    const path = join(dir, 'callers.yaml');
    writeFileSync(path, 'callers: []', 'utf8');
    let caught: unknown;
    try {
      loadCallersFile(path);
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CallersFileError);
    expect((caught as CallersFileError).problems).toEqual([`CALLERS_FILE ${path}: needs a non-empty "callers" list`]);
  });

  it('reports a missing file with ENOENT', () => {
    const path = join(dir, 'missing.yaml');
    let caught: unknown;
    try {
      loadCallersFile(path);
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CallersFileError);
    const { problems } = caught as CallersFileError;
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('ENOENT');
    expect(problems[0]).toContain(path);
  });

  it('reports a directory with its error code', () => {
    let caught: unknown;
    try {
      loadCallersFile(dir);
    } catch (error: unknown) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CallersFileError);
    expect((caught as CallersFileError).problems).toEqual([`CALLERS_FILE: cannot read ${dir} (EISDIR)`]);
  });
});

describe('localDevCallers', () => {
  it('is one caller for every platform with the well-known local token', () => {
    const callers = localDevCallers();
    expect(callers).toHaveLength(1);
    expect(callers[0]?.id).toBe(LOCAL_DEV_CALLER_ID);
    expect(callers[0]?.platforms).toEqual([...PLATFORMS]);
    expect(new CallerRegistry(callers).findByBearerToken(LOCAL_DEV_TOKEN)?.id).toBe(LOCAL_DEV_CALLER_ID);
  });

  it('returns a fresh list each time', () => {
    expect(localDevCallers()).not.toBe(localDevCallers());
    expect(localDevCallers()[0]?.platforms).not.toBe(PLATFORMS);
  });
});

describe('CallerRegistry', () => {
  const registry = new CallerRegistry(parseCallers(VALID_FILE, SOURCE));

  it('counts its callers', () => {
    expect(registry.size).toBe(2);
    expect(new CallerRegistry([]).size).toBe(0);
  });

  it('finds the caller owning a token', () => {
    expect(registry.findByBearerToken(LEX_TOKEN)?.id).toBe('lex.eu_1');
  });

  it('accepts both tokens during a rotation, for the same caller', () => {
    const current = registry.findByBearerToken(PROD_TOKEN);
    const previous = registry.findByBearerToken(PROD_PREVIOUS_TOKEN);
    expect(current?.id).toBe('dialogflow-prod');
    expect(previous).toBe(current);
  });

  it('returns undefined for an unknown token', () => {
    expect(registry.findByBearerToken('unknown-token-0123456789')).toBeUndefined();
    expect(registry.findByBearerToken('')).toBeUndefined();
  });

  it('returns undefined for a token differing by one character', () => {
    const last = PROD_TOKEN.at(-1) === 'f' ? 'e' : 'f';
    expect(registry.findByBearerToken(`${PROD_TOKEN.slice(0, -1)}${last}`)).toBeUndefined();
    expect(registry.findByBearerToken(PROD_TOKEN.toUpperCase())).toBeUndefined();
    expect(registry.findByBearerToken(`${PROD_TOKEN} `)).toBeUndefined();
    expect(registry.findByBearerToken(PROD_TOKEN.slice(0, -1))).toBeUndefined();
  });

  it('finds nobody in an empty registry', () => {
    expect(new CallerRegistry([]).findByBearerToken(PROD_TOKEN)).toBeUndefined();
  });
});
