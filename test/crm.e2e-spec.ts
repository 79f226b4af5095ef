import request from 'supertest';
import { esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/dialogflow-es';

describe('QualifyLead (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { LEAD_SCORING: '{"decisionMakerPoints": 15}' } });
  });
  afterAll(() => t.close());

  const send = (parameters: Record<string, unknown>) =>
    request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(esRequest('QualifyLead', parameters)).expect(200);

  it('asks for a valid email, then the company', async () => {
    expect((await send({})).body.fulfillmentText).toBe('What email address can our team reach you at?');
    expect((await send({ email: 'not-an-email' })).body.fulfillmentText).toBe(
      'What email address can our team reach you at?',
    );
    expect((await send({ email: 'ada@acme.example' })).body.fulfillmentText).toBe('Which company are you with?');
  });

  it('scores with the configured rules, stores the lead and assigns a queue; a returning lead is re-scored', async () => {
    const first = await send({ email: 'Grace@Acme.example', company: 'Acme', name: 'Grace', budget: '20,000' });
    expect(first.body.fulfillmentText).toBe("Thanks, Grace! We'll send you some material to get started.");
    const second = await send({
      email: 'grace@acme.example',
      company: 'Acme',
      name: 'Grace',
      budget: 120000,
      company_size: 800,
      timeline_months: 2,
      decision_maker: 'yes',
    });
    expect(second.body.fulfillmentText).toBe(
      'Thanks, Grace! An account executive will call you within one business day.',
    );
    const rows = await queryTestDatabase<{ score: number; queue: string; caller_id: string }>(
      t.database.url,
      `SELECT score, queue, caller_id FROM leads WHERE email = 'grace@acme.example'`,
    );
    expect(rows).toEqual([{ score: 40 + 20 + 30 + 15, queue: 'enterprise-sales', caller_id: 'local-dev' }]);
  });
});
