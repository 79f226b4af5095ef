import { execFileSync } from 'node:child_process';
import { curlCommand, shellQuote } from './curl-command';

/** What a POSIX shell makes of the words (printf prints each on its own line). */
function words(commandLine: string, env: Record<string, string> = {}): string[] {
  const script = `set -- ${commandLine.replace(/^curl /, '').replaceAll('\\\n', ' ')}; printf '%s\\n' "$@"`;
  return execFileSync('sh', ['-c', script], { env: { PATH: process.env.PATH, ...env } })
    .toString()
    .trimEnd()
    .split('\n');
}

describe('curlCommand', () => {
  const body = { text: 'it\'s $HOME `id` "quoted" \\ done', n: 1 };

  it('quotes the body so the shell hands it to curl byte for byte', () => {
    const command = curlCommand('/v1/webhooks/generic', body, {
      baseUrl: 'http://127.0.0.1:8080',
      token: 'local-dev-token',
    });
    expect(words(command)).toEqual([
      '-sS',
      '-X',
      'POST',
      'http://127.0.0.1:8080/v1/webhooks/generic',
      '-H',
      'Authorization: Bearer local-dev-token',
      '-H',
      'Content-Type: application/json',
      '--data-raw',
      JSON.stringify(body),
    ]);
  });

  it('leaves the address and the token to the shell when there is no local instance', () => {
    const command = curlCommand('/v1/webhooks/rasa', { a: 1 });
    expect(command).not.toContain('127.0.0.1');
    const parsed = words(command, { WEBHOOK_URL: 'https://bot.bank.example', TOKEN: 't0k' });
    expect(parsed[3]).toBe('https://bot.bank.example/v1/webhooks/rasa');
    expect(parsed[5]).toBe('Authorization: Bearer t0k');
  });

  it('makes one shell word of any text', () => {
    expect(words(shellQuote("a'b c"))).toEqual(["a'b c"]);
  });
});
