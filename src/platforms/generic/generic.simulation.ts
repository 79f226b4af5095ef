import { randomUUID } from 'node:crypto';
import { mergeSessionParameters, type PlatformSimulation } from '../platform-simulation';

export const genericSimulation: PlatformSimulation = {
  path: '/v1/webhooks/generic',
  request: (turn) => ({
    requestId: randomUUID(),
    sessionId: turn.sessionId,
    intent: turn.intent,
    parameters: turn.parameters,
    sessionParameters: turn.sessionParameters,
    languageCode: turn.languageCode,
    text: turn.text,
    stage: turn.stage,
    confirmation: turn.confirmation === 'yes' ? 'confirmed' : turn.confirmation === 'no' ? 'denied' : 'none',
  }),
  remember: (body, previous) => ({
    ...mergeSessionParameters(previous, body.sessionParameters as Record<string, unknown> | undefined),
    esContexts: [],
  }),
  replyText: (body) => (typeof body.text === 'string' ? body.text : ''),
};
