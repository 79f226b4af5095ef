import type { Platform } from '../common/platform';
import { dialogflowCxSimulation } from './dialogflow-cx/dialogflow-cx.simulation';
import { dialogflowEsSimulation } from './dialogflow-es/dialogflow-es.simulation';
import { genericSimulation } from './generic/generic.simulation';
import { lexV2Simulation } from './lex-v2/lex-v2.simulation';
import type { PlatformSimulation } from './platform-simulation';
import { rasaSimulation } from './rasa/rasa.simulation';

/** Each platform's simulation, from its own folder (used by `npm run simulate`, outside Nest). */
export const SIMULATIONS: Readonly<Record<Platform, PlatformSimulation>> = {
  'dialogflow-es': dialogflowEsSimulation,
  'dialogflow-cx': dialogflowCxSimulation,
  'lex-v2': lexV2Simulation,
  rasa: rasaSimulation,
  generic: genericSimulation,
};
