import type * as ExitModule from './exit';
import { createRootLogger } from '../observability/logging';
import { capturedLog } from '../observability/testing/captured-log';

/** A fresh copy of the module (it keeps the exit under way) with process.exit recorded instead of run. */
function loadExit(): { exit: typeof ExitModule; exits: number[]; restore: () => void } {
  const exits: number[] = [];
  const spy = jest.spyOn(process, 'exit').mockImplementation(((code?: number) => {
    exits.push(code ?? 0);
  }) as typeof process.exit);
  let exit: typeof ExitModule | undefined;
  jest.isolateModules(() => {
    exit = jest.requireActual<typeof ExitModule>('./exit');
  });
  return { exit: exit as typeof ExitModule, exits, restore: () => spy.mockRestore() };
}

const settled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe('exitAfterLogs', () => {
  it('exits once, after the logs, with the highest code asked for meanwhile', async () => {
    const { exit, exits, restore } = loadExit();
    try {
      exit.exitAfterLogs(0);
      exit.exitAfterLogs(1);
      exit.exitAfterLogs(0);
      expect(exits).toEqual([]);
      await settled();
      expect(exits).toEqual([1]);
    } finally {
      restore();
    }
  });
});

describe('exitOnUncaughtErrors', () => {
  it.each([
    [new Error('boom'), 'uncaughtException', 'Uncaught exception: boom; exiting'],
    ['not an Error', 'unhandledRejection', 'Unhandled promise rejection: not an Error; exiting'],
  ] as const)('logs one fatal line for %p (%s) and exits 1', async (error, origin, msg) => {
    const { exit, exits, restore } = loadExit();
    const before = new Set(process.listeners('uncaughtException'));
    const out = capturedLog();
    try {
      exit.exitOnUncaughtErrors(createRootLogger('info', out.stream));
      const added = process.listeners('uncaughtException').filter((listener) => !before.has(listener));
      expect(added).toHaveLength(1);
      // What Node does with an error nothing caught, and with a second one while the first is being handled.
      added[0](error as Error, origin);
      added[0](new Error('a second one'), 'uncaughtException');
      await settled();
      expect(out.lines()).toEqual([expect.objectContaining({ level: 'fatal', context: 'Main', origin, msg })]);
      expect(exits).toEqual([1]);
    } finally {
      for (const listener of process.listeners('uncaughtException')) {
        if (!before.has(listener)) process.removeListener('uncaughtException', listener);
      }
      restore();
    }
  });
});
