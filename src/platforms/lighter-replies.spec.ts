import type { FulfillmentResult } from '../fulfillment';
import { lighterReplies } from './lighter-replies';

describe('lighterReplies', () => {
  const full: FulfillmentResult = {
    text: 'Done.',
    source: 'bank',
    messages: [
      { type: 'text', text: 'Done.' },
      { type: 'quick-replies', replies: ['Again'] },
    ],
    payload: { big: 'x' },
    contexts: [{ name: 'after-transfer', lifespan: 2 }],
    sessionParameters: { confirmation: null },
    followupEvent: { name: 'NEXT' },
    transition: { page: 'projects/p/locations/l/agents/a/flows/f/pages/done' },
    endConversation: true,
    failed: false,
  };

  it('drops the presentation first, then the session values, keeping what gives the text its meaning', () => {
    expect(lighterReplies(full)).toEqual([
      {
        without: 'its rich messages and payload',
        result: {
          text: 'Done.',
          source: 'bank',
          contexts: full.contexts,
          sessionParameters: full.sessionParameters,
          followupEvent: full.followupEvent,
          transition: full.transition,
          endConversation: true,
          failed: false,
        },
      },
      {
        without: 'its rich messages, payload and session values',
        result: {
          text: 'Done.',
          source: 'bank',
          followupEvent: full.followupEvent,
          transition: full.transition,
          endConversation: true,
          failed: false,
        },
      },
    ]);
  });

  it('keeps a prompt’s elicit and confirm in every lighter form', () => {
    const prompt: FulfillmentResult = {
      text: 'Which account?',
      elicit: { parameter: 'from_account' },
      confirm: false,
      sessionParameters: { step: 1 },
    };
    expect(lighterReplies(prompt)).toEqual([
      {
        without: 'its session values',
        result: { text: 'Which account?', elicit: { parameter: 'from_account' }, confirm: false },
      },
    ]);
  });

  it('offers only the forms that leave something out', () => {
    expect(lighterReplies({ text: 'plain' })).toEqual([]);
    expect(lighterReplies({ text: 'rich', messages: [{ type: 'text', text: 'rich' }] })).toEqual([
      { without: 'its rich messages and payload', result: { text: 'rich' } },
    ]);
  });
});
