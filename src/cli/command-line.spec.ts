import { asksForHelp, readCommandLine, UsageError } from './command-line';

describe('readCommandLine', () => {
  const options = { intent: { type: 'string' }, param: { type: 'string', multiple: true } } as const;
  const read = (...args: string[]) => readCommandLine({ args, options });

  it('reads --flag value and --flag=value; a repeated flag keeps its last value unless it takes many', () => {
    expect(read('--intent', 'A', '--param=a=1', '--param', 'b=2', '--intent=B').values).toEqual({
      intent: 'B',
      param: ['a=1', 'b=2'],
    });
  });

  it.each([
    [['--parm', 'a=1'], "Unknown option '--parm'"],
    [['--intent'], "Option '--intent <value>' argument missing"],
    [['stray'], "Unexpected argument 'stray'"],
    [['--intent', '--param'], "Option '--intent' argument is ambiguous"],
  ])('refuses %j with a usage error that names it', (args, message) => {
    expect(() => read(...args)).toThrow(UsageError);
    expect(() => read(...args)).toThrow(message);
  });

  it('takes a value that starts with a dash ("-5 degrees"), but not a flag, as the value of the flag before it', () => {
    expect(read('--intent', '-5 degrees', '--param', '-x=1').values).toEqual({ intent: '-5 degrees', param: ['-x=1'] });
  });

  it('takes words where the command allows them', () => {
    expect(readCommandLine({ args: ['dead', '--intent', 'A'], options, allowPositionals: true })).toMatchObject({
      positionals: ['dead'],
      values: { intent: 'A' },
    });
  });
});

describe('asksForHelp', () => {
  const options = { text: { type: 'string' }, intent: { type: 'string' } } as const;
  const asks = (...args: string[]) => asksForHelp({ args, options });

  it('finds --help or -h anywhere among the words, whatever else the line holds', () => {
    expect(asks('--help')).toBe(true);
    expect(asks('-h')).toBe(true);
    expect(asks('--intent', 'X', '--parm', 'a=1', '--help')).toBe(true);
  });

  it("not as a flag's value, nor after --, nor without either", () => {
    expect(asks('--text', '-h')).toBe(false);
    expect(asks('--text=--help')).toBe(false);
    expect(asks('--', '--help')).toBe(false);
    expect(asks('--intent', 'Help')).toBe(false);
  });
});
