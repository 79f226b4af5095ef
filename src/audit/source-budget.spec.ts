import { SourceBudget } from './source-budget';

describe('SourceBudget', () => {
  let now = 0;
  const clock = (): number => now;

  beforeEach(() => {
    now = 1_000;
  });

  it('admits at most the budget per source and window, and reports the rest by event when the window closes', () => {
    const budget = new SourceBudget(3, 10_000, clock);
    const admitted = Array.from({ length: 10 }, (_, index) =>
      budget.admit('198.51.100.7', index % 2 ? 'sequence_fail' : 'input_validation_fail'),
    );
    expect(admitted.filter(Boolean)).toHaveLength(3);
    expect(budget.admit('203.0.113.9', 'input_validation_fail')).toBe(true);
    expect(budget.sweep()).toEqual([]);

    now += 10_000;
    expect(budget.sweep()).toEqual(
      expect.arrayContaining([
        { source: '198.51.100.7', event: 'input_validation_fail', dropped: 3 },
        { source: '198.51.100.7', event: 'sequence_fail', dropped: 4 },
      ]),
    );
    expect(budget.sweep()).toEqual([]);
    expect(budget.admit('198.51.100.7', 'input_validation_fail')).toBe(true);
  });

  it('reports a closed window replaced before a sweep saw it', () => {
    const budget = new SourceBudget(1, 1_000, clock);
    budget.admit('a', 'input_validation_fail');
    budget.admit('a', 'input_validation_fail');
    now += 1_000;
    expect(budget.admit('a', 'input_validation_fail')).toBe(true);
    expect(budget.sweep()).toEqual([{ source: 'a', event: 'input_validation_fail', dropped: 1 }]);
  });

  it('admits everything with a budget of 0', () => {
    const budget = new SourceBudget(0, 1_000, clock);
    for (let index = 0; index < 100; index++) expect(budget.admit('a', 'input_validation_fail')).toBe(true);
    expect(budget.sweep()).toEqual([]);
  });
});
