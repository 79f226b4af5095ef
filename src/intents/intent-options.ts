import type { ConfigSection } from '../config';
import { STATEMENT_ARCHIVE_OPTIONS } from './banking/statement-archive.options';
import { CARRIER_OPTIONS } from './commerce/carrier.options';
import { CRM_OPTIONS } from './crm/crm.options';

/** The settings of the built-in intent domains, loaded with the configuration by the composition root. */
export const INTENT_OPTIONS: readonly ConfigSection[] = [CRM_OPTIONS, CARRIER_OPTIONS, STATEMENT_ARCHIVE_OPTIONS];
