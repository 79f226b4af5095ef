import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import { credentialHeaders, PASSWORD_VARIABLE } from '../simulator/credentials';
import { describeFetchFailure } from '../simulator/fetch-failure';
import { resolveRelativeDate } from '../simulator/relative-date';
import { newSessionState, readSessionState, sessionFile, writeSessionState } from '../simulator/session-state';
import { SIMULATIONS } from '../platforms/simulations';
import { buildRequest, rememberFromResponse, sessionIdFor } from '../simulator/simulated-request';
import { isPlatform, PLATFORMS, Platform } from '../common/platform';
import { asksForHelp, readCommandLine, UsageError } from './command-line';
import { HiddenInput } from './hidden-input';

const USAGE = `usage: npm run simulate -- --platform <${PLATFORMS.join('|')}> --intent <Name> [--param key=value ...]
       [--url http://127.0.0.1:8080] [--caller <id> [--callers-file <path>] | --token <token>]
       [--cert client.crt --key client.key] [--ca ca.crt]
       [--session <name>] [--language en] [--text "what the user said"] [--confirm yes|no] [--stage dialog|fulfillment]
       npm run simulate -- --help
  Date parameters (date, date_to, …) take YYYY-MM-DD, today, tomorrow or +Nd (the UTC date), sent in the shape the
  platform's date entity gives. A basic-auth caller's password comes from ${PASSWORD_VARIABLE}, else is asked for.`;

/** Ctrl-C at the password prompt: no request sent. */
class Interrupted extends Error {}

interface Options {
  platform: Platform;
  intent: string;
  params: Record<string, string>;
  url: string;
  callerId?: string;
  callersFile?: string;
  token?: string;
  session?: string;
  language: string;
  text?: string;
  confirm?: 'yes' | 'no';
  stage: 'dialog' | 'fulfillment';
  tls: { cert?: string; key?: string; ca?: string };
}

const text = { type: 'string' } as const;

const OPTIONS = {
  platform: text,
  intent: text,
  param: { type: 'string', multiple: true },
  url: text,
  caller: text,
  'callers-file': text,
  token: text,
  cert: text,
  key: text,
  ca: text,
  session: text,
  language: text,
  text,
  confirm: text,
  stage: text,
} as const;

function parseOptions(args: string[]): Options {
  const { values } = readCommandLine({ args, options: OPTIONS });
  const platform = values.platform;
  if (platform === undefined) throw new UsageError(`--platform is required: one of ${PLATFORMS.join(', ')}`);
  if (!isPlatform(platform)) {
    throw new UsageError(`--platform ${JSON.stringify(platform)} is not one of ${PLATFORMS.join(', ')}`);
  }
  const intent = values.intent;
  if (!intent) throw new UsageError('--intent is required');
  const params: Record<string, string> = {};
  for (const pair of values.param ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--param needs key=value, got "${pair}"`);
    const name = pair.slice(0, at);
    params[name] = resolveRelativeDate(name, pair.slice(at + 1));
  }
  const confirm = values.confirm;
  if (confirm && confirm !== 'yes' && confirm !== 'no') throw new UsageError('--confirm is yes or no');
  const stage = values.stage ?? 'fulfillment';
  if (stage !== 'dialog' && stage !== 'fulfillment') throw new UsageError('--stage is dialog or fulfillment');
  return {
    platform,
    intent,
    params,
    url: values.url ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`,
    callerId: values.caller,
    callersFile: values['callers-file'] ?? process.env.CALLERS_FILE,
    token: values.token,
    session: values.session,
    language: values.language ?? 'en',
    text: values.text,
    confirm: confirm as 'yes' | 'no' | undefined,
    stage,
    tls: { cert: values.cert, key: values.key, ca: values.ca },
  };
}

/** The client certificate and trusted CA for an mTLS caller; undefined keeps the default agent. */
function tlsAgent(tls: Options['tls']): Agent | undefined {
  if (!tls.cert && !tls.key && !tls.ca) return undefined;
  if (Boolean(tls.cert) !== Boolean(tls.key)) throw new UsageError('--cert and --key go together');
  const read = (path: string | undefined, flag: string): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (error: unknown) {
      throw new UsageError(`${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  };
  return new Agent({
    connect: { cert: read(tls.cert, '--cert'), key: read(tls.key, '--key'), ca: read(tls.ca, '--ca') },
  });
}

/**
 * A basic caller's password: from SIMULATOR_PASSWORD (not a flag, which every user of the machine sees in the
 * process list), else typed at a terminal, not shown; undefined with neither.
 */
async function basicPassword(callerId: string): Promise<string | undefined> {
  const fromEnvironment = process.env[PASSWORD_VARIABLE];
  if (fromEnvironment) return fromEnvironment;
  if (!process.stdin.isTTY) return undefined;
  const keys = HiddenInput.open();
  try {
    const answer = await keys.ask(`Password of caller "${callerId}" (not shown, then Enter): `);
    if (answer.kind === 'interrupted') throw new Interrupted();
    if (answer.kind === 'refused') {
      throw new Error(`${answer.key} is not part of a password; only Backspace and Ctrl-U edit it here`);
    }
    return answer.text;
  } finally {
    keys.close();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (asksForHelp({ args, options: OPTIONS })) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const options = parseOptions(args);
  const file = options.session ? sessionFile(options.session) : undefined;
  const state = file ? readSessionState(file) : newSessionState();
  const parameters = { ...state.parameters, ...options.params };
  const body = buildRequest({
    platform: options.platform,
    intent: options.intent,
    parameters,
    sessionParameters: state.sessionParameters,
    esContexts: state.esContexts,
    sessionId: sessionIdFor(options.session ?? `once-${Date.now()}`),
    languageCode: options.language,
    text: options.text ?? `(${options.intent})`,
    confirmation: options.confirm,
    stage: options.stage,
  });
  const raw = Buffer.from(JSON.stringify(body));
  const headers = {
    'Content-Type': 'application/json',
    ...(await credentialHeaders(raw, {
      ...options,
      clientCertificate: Boolean(options.tls.cert),
      password: basicPassword,
    })),
  };
  const url = `${options.url.replace(/\/$/, '')}${SIMULATIONS[options.platform].path}`;

  process.stdout.write(`→ POST ${url}  (${options.platform}, ${options.intent})\n`);
  const dispatcher = tlsAgent(options.tls);
  const started = performance.now();
  let response: Awaited<ReturnType<typeof fetch>>;
  let text: string;
  try {
    response = await fetch(url, { method: 'POST', headers, body: raw, dispatcher });
    text = await response.text();
  } catch (error: unknown) {
    process.stderr.write(`${describeFetchFailure(url, error)}\n`);
    process.exitCode = 1;
    return;
  } finally {
    await dispatcher?.close();
  }
  const latency = Math.round(performance.now() - started);
  process.stdout.write(`← ${response.status} in ${latency} ms\n`);
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    process.stdout.write(`${text}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${JSON.stringify(parsed, null, 2)}\n`);
  if (response.ok) process.stdout.write(`\nbot says: ${SIMULATIONS[options.platform].replyText(parsed)}\n`);
  else process.exitCode = 1;

  if (file && response.ok) {
    const { cleared = [], ...remembered } = rememberFromResponse(
      options.platform,
      parsed,
      state.sessionParameters,
      state.esContexts,
    );
    // A value our answer reset (a slot asked for again) is gone from the platform: an earlier --param is not sent again.
    const kept = Object.fromEntries(Object.entries(parameters).filter(([name]) => !cleared.includes(name)));
    writeSessionState(file, { parameters: kept, ...remembered });
  }
}

main().catch((error: unknown) => {
  if (error instanceof Interrupted) process.exit(130);
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    process.exit(2);
  }
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
