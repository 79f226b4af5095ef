import { CrmOptions } from '../crm.options';
import {
  FulfillmentHandler,
  FulfillmentRequest,
  FulfillmentResult,
  IntentHandler,
  translator,
} from '../../../fulfillment';
import { amountCurrency, fractionDigitsOf, parseAmountMinor } from '../../banking/money';
import { isBlank, wholeNumberFrom } from '../../parameter-values';
import { CRM_MESSAGES } from '../crm.messages';
import { LeadFacts } from '../lead-scoring';
import { LeadsRepository } from '../leads.repository';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,188}\.[^\s@]{2,}$/;
const CRM_SOURCE = 'crm-api';

/** Dialogflow's built-in types wrap values: @sys.person as `{name}`, @sys.unit-currency as `{amount, currency}`. */
function unwrap(value: unknown, key: 'name' | 'amount'): unknown {
  return typeof value === 'object' && value !== null && key in value ? (value as Record<string, unknown>)[key] : value;
}

/** `50,000`, `1,250,000`: whole units grouped by thousands with commas. */
const THOUSANDS = /^\s*\d{1,3}(?:,\d{3})+\s*$/;

/** The largest value the leads table's integer columns hold. */
const MAX_STORED_INTEGER = 2_147_483_647;
/** The longest address the leads table (and SMTP) takes. */
const MAX_EMAIL_LENGTH = 254;

/**
 * At most the largest the table holds ("a budget of 5,000,000,000" is kept as the most it can store, which ranks it
 * as the largest budget, rather than failing the turn with "integer out of range").
 */
const stored = (value: number): number => Math.min(value, MAX_STORED_INTEGER);

/**
 * A count (employees, months): a JSON number (Dialogflow's @sys.number may send 2.5), or decimal digits; blank and
 * text such as "1e3", "0x2" or "1,000" are unknown.
 */
function count(value: unknown): number | undefined {
  const raw = unwrap(value, 'amount');
  const number = typeof raw === 'number' ? raw : wholeNumberFrom(raw);
  if (number === undefined || !Number.isFinite(number) || number < 0) return undefined;
  return stored(Math.round(number));
}

/**
 * A budget in whole units of the scoring currency, parsed as strictly as a transfer's amount ("50.000" reads two
 * ways and is unknown), but for thousands grouped with commas. Null when it names another currency: ¥50,000 is not $50,000, and there is no rate to use.
 */
function budget(value: unknown, currency: string): number | undefined | null {
  const named = amountCurrency(value);
  if (named !== undefined && named !== currency) return null;
  // Whole units grouped by thousands ("50,000"): a yearly budget is no fraction of a unit.
  const ungrouped = typeof value === 'string' && THOUSANDS.test(value) ? value.replaceAll(',', '') : value;
  const minor = parseAmountMinor(ungrouped, currency);
  return minor === undefined ? undefined : stored(Number(minor / 10n ** BigInt(fractionDigitsOf(currency))));
}

function yesNo(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value !== 'string') return undefined;
  return /^(y|yes|true)$/i.test(value.trim()) ? true : /^(n|no|false)$/i.test(value.trim()) ? false : undefined;
}

/**
 * "I'd like a demo for Acme" — parameters `email` and `company` (required), and `name`, `company_size`,
 * `budget`, `timeline_months`, `decision_maker`. Scores the lead with the configured rules, stores it (one
 * lead per caller and email; on return the facts given are added to those known, and it is scored on them all) and
 * assigns a sales queue.
 */
@IntentHandler('QualifyLead', { changesState: true })
export class QualifyLeadHandler implements FulfillmentHandler {
  constructor(
    private readonly leads: LeadsRepository,
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

    const { budgetCurrency } = this.options.scoring;
    const budgetGiven = budget(params.budget, budgetCurrency);
    // Asked again in the currency the rules score, as a sales rep would; a lead that is stored unscored loses the
    // budget that would rank it.
    if (budgetGiven === null) {
      return {
        text: t('askBudgetInCurrency', { currency: budgetCurrency }),
        elicit: { parameter: 'budget', invalid: true },
        source: CRM_SOURCE,
      };
    }
    // A budget given but not read ("50.000" reads two ways, "5e4") is asked for again, not stored as unknown.
    if (budgetGiven === undefined && !isBlank(params.budget)) {
      return {
        text: t('askBudgetAgain', { currency: budgetCurrency }),
        elicit: { parameter: 'budget', invalid: true },
        source: CRM_SOURCE,
      };
    }
    const facts: LeadFacts = {
      companySize: count(params.company_size),
      budget: budgetGiven,
      timelineMonths: count(params.timeline_months),
      decisionMaker: yesNo(params.decision_maker),
    };
    const given = unwrap(params.name, 'name');
    const name = typeof given === 'string' && given.trim() ? given.trim().slice(0, 200) : undefined;
    const { score, queue } = await this.leads.save(
      { callerId: request.caller.id, email, company, name, facts },
      this.options.scoring,
    );
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
