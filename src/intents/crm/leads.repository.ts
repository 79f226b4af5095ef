import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Lead } from './lead.entity';
import { type LeadFacts, type LeadScoringRules, scoreLead } from './lead-scoring';

/** What one turn says of a lead: the facts it gave (those it did not give left out), and the name when given. */
export interface LeadReport {
  readonly callerId: string;
  readonly email: string;
  readonly company: string;
  readonly name?: string;
  readonly facts: LeadFacts;
}

/** The facts stored of a lead, as the scoring rules read them (null: not known). */
function storedFacts(lead: Lead): LeadFacts {
  return {
    companySize: lead.companySize ?? undefined,
    budget: lead.budget ?? undefined,
    timelineMonths: lead.timelineMonths ?? undefined,
    decisionMaker: lead.decisionMaker ?? undefined,
  };
}

/**
 * The leads, one per caller and email: a caller neither reads nor changes another caller's lead of the same email.
 */
@Injectable()
export class LeadsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Stores what a turn said of the caller's lead and scores it on everything known of it: a fact this turn did not
   * give (the budget said two turns ago) is kept, not cleared, and counts. The row is locked from read to write,
   * so two turns of one lead at once each add their facts.
   */
  save(report: LeadReport, rules: LeadScoringRules): Promise<{ score: number; queue: string }> {
    const { callerId, email, company, name, facts } = report;
    return this.dataSource.transaction(async (manager) => {
      const first = scoreLead(facts, rules);
      const inserted = await manager
        .createQueryBuilder()
        .insert()
        .into(Lead)
        .values({
          callerId,
          email,
          name: name ?? null,
          company,
          companySize: facts.companySize ?? null,
          budget: facts.budget ?? null,
          timelineMonths: facts.timelineMonths ?? null,
          decisionMaker: facts.decisionMaker ?? null,
          ...first,
        })
        .orIgnore()
        .execute();
      if ((inserted.raw as unknown[]).length > 0) return first;

      const stored = await manager.findOne(Lead, { where: { callerId, email }, lock: { mode: 'pessimistic_write' } });
      // Only the (caller, email) index can refuse the insert: the lead is there.
      if (!stored) throw new Error(`lead of caller ${callerId} neither inserted nor found: leads table not migrated?`);
      const before = storedFacts(stored);
      const known: LeadFacts = {
        companySize: facts.companySize ?? before.companySize,
        budget: facts.budget ?? before.budget,
        timelineMonths: facts.timelineMonths ?? before.timelineMonths,
        decisionMaker: facts.decisionMaker ?? before.decisionMaker,
      };
      const scored = scoreLead(known, rules);
      await manager.update(
        Lead,
        { id: stored.id },
        {
          name: name ?? stored.name,
          company,
          companySize: known.companySize ?? null,
          budget: known.budget ?? null,
          timelineMonths: known.timelineMonths ?? null,
          decisionMaker: known.decisionMaker ?? null,
          ...scored,
        },
      );
      return scored;
    });
  }
}
