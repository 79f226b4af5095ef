import { DEFAULT_LEAD_SCORING, scoreLead } from './lead-scoring';

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
