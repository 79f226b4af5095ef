import type { LeadScoringRules } from '../../config';

/** What the bot learned about a prospect; every field but email and company is optional. */
export interface LeadFacts {
  readonly companySize?: number;
  readonly budget?: number;
  readonly timelineMonths?: number;
  readonly decisionMaker?: boolean;
}

export function scoreLead(facts: LeadFacts, rules: LeadScoringRules): { score: number; queue: string } {
  let score = 0;
  if ((facts.companySize ?? 0) >= rules.companySizeAtLeast.value) score += rules.companySizeAtLeast.points;
  if ((facts.budget ?? 0) >= rules.budgetAtLeast.value) score += rules.budgetAtLeast.points;
  if (facts.timelineMonths !== undefined && facts.timelineMonths <= rules.timelineAtMostMonths.value) {
    score += rules.timelineAtMostMonths.points;
  }
  if (facts.decisionMaker) score += rules.decisionMakerPoints;
  const queue = [...rules.queues].sort((a, b) => b.minScore - a.minScore).find((q) => score >= q.minScore)?.queue;
  return { score, queue: queue ?? 'nurture' };
}
