import 'reflect-metadata';
import { loadConfig } from '../config';
import { endSessionsOf } from '../console/sessions/session-revocations';
import { suitableServerUrl } from '../database/database-server';
import { operatorCommandClient } from '../database/operator-command-client';
import { transactionOn } from '../database/sql';
import { useCommandLogger } from './command-logger';
import { exitWith, readCommandLine, UsageError } from './command-line';

const USAGE = `usage: npm run console-sessions -- end <subject>
  Ends every operator console session of <subject> (the identity provider's sub, as the console's audit trail
  names it: console:<subject>) on every replica; sessions the person starts afterwards are not affected.`;

const MAX_SUBJECT_LENGTH = 255;

/** The subject whose sessions to end, from `end <subject>`; a `UsageError` for anything else. */
function parseEndArguments(args: string[]): string {
  const { positionals } = readCommandLine({ args, options: {}, allowPositionals: true });
  const [command, subject, ...more] = positionals;
  if (command !== 'end') throw new UsageError(`unknown command ${JSON.stringify(command ?? '')}`);
  if (subject === undefined || subject === '') throw new UsageError('end needs the subject whose sessions to end');
  if (more.length > 0) throw new UsageError(`unknown argument ${JSON.stringify(more[0])}`);
  // eslint-disable-next-line no-control-regex -- no subject holds a control character
  if (subject.length > MAX_SUBJECT_LENGTH || /[\u0000-\u001f\u007f]/.test(subject)) {
    throw new UsageError(`a subject has at most ${MAX_SUBJECT_LENGTH} characters and no control characters`);
  }
  return subject;
}

/** Ends a person's console sessions (operators; needs DATABASE_URL like the service). */
async function run(args: string[]): Promise<number> {
  const subject = parseEndArguments(args);
  // Serves nothing: an operator's one-off pod from the image (NODE_ENV=production) needs DATABASE_URL only.
  const config = loadConfig(process.env, undefined, { serving: false });
  useCommandLogger(config.logLevel);
  const configured = config.database.url;
  if (!configured) {
    process.stderr.write('DATABASE_URL must be set (the service database)\n');
    return 2;
  }
  const url = await suitableServerUrl(config.database, configured);
  const client = operatorCommandClient(url, config.database);
  // A connection lost between statements is emitted here; the next statement then fails with it.
  client.on('error', () => undefined);
  await client.connect();
  try {
    // The database's clock, not this machine's (an operator's workstation may be minutes behind).
    const signedInBefore = await endSessionsOf(transactionOn(client), subject);
    process.stdout.write(
      `Ended the console sessions of ${JSON.stringify(subject)} signed in before ${signedInBefore.toISOString()}\n`,
    );
    return 0;
  } finally {
    await client.end();
  }
}

exitWith('console-sessions', USAGE, run(process.argv.slice(2)));
