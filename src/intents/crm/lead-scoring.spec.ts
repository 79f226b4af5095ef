import { DEFAULT_LEAD_SCORING, parseLeadScoring, scoreLead } from './lead-scoring';

describe('scoreLead', () => {
  it('adds the points of each rule met and picks the queue by score', () => {
    expect(
      scoreLead({ companySize: 500, budget: 80_000, timelineMonths: 2, decisionMaker: true }, DEFAULT_LEAD_SCORING),
    ).toEqual({ score: 100, queue: 'enterprise-sales' });
    expect(scoreLead({ budget: 50_000 }, DEFAULT_LEAD_SCORING)).toEqual({ score: 40, queue: 'inside-sales' });
    expect(scoreLead({ companySize: 10, timelineMonths: 12 }, DEFAULT_LEAD_SCORING)).toEqual({
      score: 0,
      queue: 'nurture',
    });
  });

  it('uses configured rules', () => {
    const rules = { ...DEFAULT_LEAD_SCORING, decisionMakerPoints: 90, queues: [{ minScore: 90, queue: 'vip' }] };
    expect(scoreLead({ decisionMaker: true }, rules)).toEqual({ score: 90, queue: 'vip' });
    expect(scoreLead({}, rules)).toEqual({ score: 0, queue: 'nurture' });
  });
});

describe('parseLeadScoring', () => {
  it('scores budgets in US dollars unless told another currency', () => {
    expect(parseLeadScoring(undefined).budgetCurrency).toBe('USD');
    expect(parseLeadScoring('{"budgetAtLeast":{"value":100000,"points":50}}').budgetCurrency).toBe('USD');
    expect(parseLeadScoring('{"budgetCurrency":"EUR"}')).toEqual({ ...DEFAULT_LEAD_SCORING, budgetCurrency: 'EUR' });
  });

  it('refuses a budget currency that is not a currency code', () => {
    for (const currency of ['"eur"', '"EURO"', '""', '978', 'null']) {
      expect(() => parseLeadScoring(`{"budgetCurrency":${currency}}`)).toThrow(
        'budgetCurrency must be a currency code in capitals, e.g. "EUR"',
      );
    }
  });
});
