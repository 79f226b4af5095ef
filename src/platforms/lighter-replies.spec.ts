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

  it('never sends a question without the session values that say what it asked', () => {
    const confirmation: FulfillmentResult = {
      text: 'Transfer $250.00 to savings?',
      confirm: true,
      messages: [{ type: 'quick-replies', replies: ['Yes', 'No'] }],
      sessionParameters: { confirming: 'digest' },
    };
    expect(lighterReplies(confirmation)).toEqual([
      {
        without: 'its rich messages and payload',
        result: { text: 'Transfer $250.00 to savings?', confirm: true, sessionParameters: { confirming: 'digest' } },
      },
    ]);
    expect(lighterReplies({ text: 'Which account?', elicit: { parameter: 'from_account' }, contexts: [] })).toEqual([]);
  });

  it('offers only the forms that leave something out', () => {
    expect(lighterReplies({ text: 'plain' })).toEqual([]);
    expect(lighterReplies({ text: 'rich', messages: [{ type: 'text', text: 'rich' }] })).toEqual([
      { without: 'its rich messages and payload', result: { text: 'rich' } },
    ]);
  });
});
