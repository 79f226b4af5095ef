import { Transform } from 'class-transformer';
import { IsOptional, IsString } from 'class-validator';
import { type ConfigSection, emptyToUndefined, VariableProblem } from '../../config';
import { type LeadScoringRules, parseLeadScoring } from './lead-scoring';

/** The CRM domain's settings. */
export abstract class CrmOptions {
  abstract readonly scoring: LeadScoringRules;
}

class CrmVariables {
  /** JSON overriding parts of the lead scoring rules (see README), e.g. `{"budgetAtLeast":{"value":100000,"points":50}}`. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsString()
  LEAD_SCORING?: string;
}

export const CRM_OPTIONS: ConfigSection<CrmOptions, CrmVariables> = {
  provide: CrmOptions,
  variables: CrmVariables,
  build: (variables) => {
    try {
      return { scoring: parseLeadScoring(variables.LEAD_SCORING) };
    } catch (error: unknown) {
      throw new VariableProblem('LEAD_SCORING', error instanceof Error ? error.message : String(error));
    }
  },
};
