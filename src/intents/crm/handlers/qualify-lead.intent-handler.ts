import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CrmOptions } from '../crm.options';
import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  translator,
} from '../../../fulfillment';
import { CRM_MESSAGES } from '../crm.messages';
import { Lead } from '../lead.entity';
import { LeadFacts, scoreLead } from '../lead-scoring';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,188}\.[^\s@]{2,}$/;
const CRM_SOURCE = 'crm-api';

/** Dialogflow's built-in types wrap values: @sys.person as `{name}`, @sys.unit-currency as `{amount, currency}`. */
function unwrap(value: unknown, key: 'name' | 'amount'): unknown {
  return typeof value === 'object' && value !== null && key in value ? (value as Record<string, unknown>)[key] : value;
}

/** The largest value the leads table's integer columns hold. */
const MAX_STORED_INTEGER = 2_147_483_647;
/** The longest address the leads table (and SMTP) takes. */
const MAX_EMAIL_LENGTH = 254;

/**
 * A count or an amount: at most the largest the table holds ("a budget of 5,000,000,000" is kept as the most it can
 * store, which ranks it as the largest budget, rather than failing the turn with "integer out of range").
 */
function positiveInteger(value: unknown): number | undefined {
  const raw = unwrap(value, 'amount');
  const number = typeof raw === 'string' ? Number(raw.replace(/[,_\s]/g, '')) : raw;
  if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) return undefined;
  return Math.min(Math.round(number), MAX_STORED_INTEGER);
}

function yesNo(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  return /^(y|yes|true)$/i.test(value.trim()) ? true : /^(n|no|false)$/i.test(value.trim()) ? false : undefined;
}

/**
 * "I'd like a demo for Acme" — parameters `email` and `company` (required), and `name`, `company_size`,
 * `budget`, `timeline_months`, `decision_maker`. Scores the lead with the configured rules, stores it (one
 * lead per email, re-scored on return) and assigns a sales queue.
 */
@IntentHandler('QualifyLead', { changesState: true })
export class QualifyLeadHandler implements FulfillmentHandler {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly options: CrmOptions,
  ) {}

  async handle(request: FulfillmentRequest): Promise<FulfillmentResult> {
    const t = translator(CRM_MESSAGES, request.languageCode);
    const params = request.parameters;
    const email = typeof params.email === 'string' ? params.email.trim().toLowerCase() : '';
    if (email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email)) {
      return {
        text: t('askEmail'),
        elicit: { parameter: 'email', invalid: email !== '' },
      };
    }
    const company = typeof params.company === 'string' ? params.company.trim().slice(0, 200) : '';
    if (!company) return { text: t('askCompany'), elicit: { parameter: 'company' } };

    const facts: LeadFacts = {
      companySize: positiveInteger(params.company_size),
      budget: positiveInteger(params.budget),
      timelineMonths: positiveInteger(params.timeline_months),
      decisionMaker: yesNo(params.decision_maker),
    };
    const { score, queue } = scoreLead(facts, this.options.scoring);
    const given = unwrap(params.name, 'name');
    const name = typeof given === 'string' && given.trim() ? given.trim().slice(0, 200) : null;
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(Lead)
      .values({
        email,
        name,
        company,
        companySize: facts.companySize ?? null,
        budget: facts.budget ?? null,
        timelineMonths: facts.timelineMonths ?? null,
        decisionMaker: facts.decisionMaker ?? null,
        score,
        queue,
        callerId: request.caller.id,
      })
      .orUpdate(
        [
          'name',
          'company',
          'company_size',
          'budget',
          'timeline_months',
          'decision_maker',
          'score',
          'queue',
          'caller_id',
          'updated_at',
        ],
        ['email'],
      )
      .execute();
    const next =
      queue === 'enterprise-sales'
        ? t('nextEnterpriseSales')
        : queue === 'inside-sales'
          ? t('nextInsideSales')
          : t('nextNurture');
    return {
      text: `${name ? t('thanksNamed', { name }) : t('thanks')} ${next}`,
      sessionParameters: { lead_queue: queue, lead_score: score },
      source: CRM_SOURCE,
    };
  }
}
