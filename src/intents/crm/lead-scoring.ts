/** Points per fact a bot learns about a sales lead, and the queues by minimum score. */
export interface LeadScoringRules {
  readonly companySizeAtLeast: { readonly value: number; readonly points: number };
  readonly budgetAtLeast: { readonly value: number; readonly points: number };
  readonly timelineAtMostMonths: { readonly value: number; readonly points: number };
  readonly decisionMakerPoints: number;
  readonly queues: readonly { readonly minScore: number; readonly queue: string }[];
  /** The currency of `budgetAtLeast` (ISO 4217): a budget given in another is not compared with it. */
  readonly budgetCurrency: string;
}

export const DEFAULT_LEAD_SCORING: LeadScoringRules = {
  companySizeAtLeast: { value: 100, points: 20 },
  budgetAtLeast: { value: 50_000, points: 40 },
  timelineAtMostMonths: { value: 3, points: 30 },
  decisionMakerPoints: 10,
  queues: [
    { minScore: 70, queue: 'enterprise-sales' },
    { minScore: 40, queue: 'inside-sales' },
    { minScore: 0, queue: 'nurture' },
  ],
  budgetCurrency: 'USD',
};

const CURRENCY = /^[A-Z]{3}$/;

const isThreshold = (v: unknown): boolean =>
  typeof v === 'object' &&
  v !== null &&
  Number.isFinite((v as { value?: unknown }).value) &&
  Number.isInteger((v as { points?: unknown }).points);

/** Merges LEAD_SCORING (JSON) over the defaults; throws with a readable message when it is malformed. */
export function parseLeadScoring(json: string | undefined): LeadScoringRules {
  if (json === undefined) return DEFAULT_LEAD_SCORING;
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error('must be JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('must be a JSON object');
  const rules = { ...DEFAULT_LEAD_SCORING, ...(parsed as Partial<LeadScoringRules>) };
  const thresholdsOk = [rules.companySizeAtLeast, rules.budgetAtLeast, rules.timelineAtMostMonths].every(isThreshold);
  const queues: unknown = rules.queues;
  const queuesOk =
    Array.isArray(queues) &&
    queues.length > 0 &&
    queues.every((entry: unknown) => {
      const q = entry as { minScore?: unknown; queue?: unknown } | null;
      return Number.isInteger(q?.minScore) && typeof q?.queue === 'string' && q.queue !== '';
    });
  if (!thresholdsOk || !Number.isInteger(rules.decisionMakerPoints) || !queuesOk) {
    throw new Error('thresholds need {value, points}, decisionMakerPoints an integer, queues [{minScore, queue}]');
  }
  if (typeof rules.budgetCurrency !== 'string' || !CURRENCY.test(rules.budgetCurrency)) {
    throw new Error('budgetCurrency must be a currency code in capitals, e.g. "EUR"');
  }
  return rules;
}

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
