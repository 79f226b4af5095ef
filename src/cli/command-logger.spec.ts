import { Logger } from '@nestjs/common';
import { commandLogLevels, useCommandLogger } from './command-logger';

describe('the commands’ logger', () => {
  let stdout: jest.SpyInstance;
  let stderr: jest.SpyInstance;

  beforeEach(() => {
    stdout = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  it('writes LOG_LEVEL and more severe levels (info is Nest’s log)', () => {
    expect(commandLogLevels('warn')).toEqual(['fatal', 'error', 'warn']);
    expect(commandLogLevels('info')).toEqual(['fatal', 'error', 'warn', 'log']);
    expect(commandLogLevels('verbose')).toEqual(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']);
  });

  it('writes every level to standard error, none to standard output, without colour into a pipe', () => {
    useCommandLogger('debug', { isTTY: false }, undefined);
    const logger = new Logger('TypeORM');
    logger.log('applied');
    logger.warn('slow');
    logger.debug('detail');
    logger.verbose('not at debug');
    expect(stdout).not.toHaveBeenCalled();
    const lines = stderr.mock.calls.map(([text]) => String(text));
    expect(lines).toEqual([
      expect.stringMatching(/ LOG \[TypeORM\] applied\n$/),
      expect.stringMatching(/ WARN \[TypeORM\] slow\n$/),
      expect.stringMatching(/ DEBUG \[TypeORM\] detail\n$/),
    ]);
    expect(lines.join('')).not.toContain('\x1b[');
  });

  it('colours a terminal, unless NO_COLOR is set', () => {
    useCommandLogger('info', { isTTY: true }, undefined);
    new Logger('Migrations').log('applied');
    expect(String(stderr.mock.calls[0][0])).toContain('\x1b[');
    useCommandLogger('info', { isTTY: true }, '1');
    new Logger('Migrations').log('applied');
    expect(String(stderr.mock.calls[1][0])).not.toContain('\x1b[');
  });
});
