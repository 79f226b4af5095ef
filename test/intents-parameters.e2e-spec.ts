import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { genericTurnKey } from './support/generic-turns';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';
import { SLOT_TIME } from './support/slot-time';

type Json = Record<string, unknown>;

/** Parameters as bots send them, read strictly: what is not understood is asked for again, never guessed. */
describe('intent parameters read strictly (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { ASYNC_POLL_INTERVAL_MS: '500' } });
  });
  afterAll(() => t.close());

  const post = async (intent: string, parameters: Json, requestId = randomUUID()): Promise<Json> => {
    const body = { requestId, sessionId: `session-${requestId}`, intent, parameters };
    return (await request(t.baseUrl).post('/v1/webhooks/generic').set(LOCAL_DEV_AUTH).send(body).expect(200))
      .body as Json;
  };

  describe('BookAppointment times', () => {
    /** A free 10:00 UTC slot of Dr. Lee (the demo has 09:00 to 11:30, every day). */
    async function tenOClock(): Promise<{ date: string; at: Date }> {
      const [slot] = await queryTestDatabase<{ starts_at: Date }>(
        t.database.url,
        `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
          WHERE p.slug = 'dr-lee' AND s.starts_at > now() + interval '1 hour'
            AND extract(hour FROM s.starts_at AT TIME ZONE 'UTC') = 10 AND extract(minute FROM s.starts_at) = 0
            AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
          ORDER BY s.starts_at LIMIT 1`,
      );
      return { date: slot.starts_at.toISOString().slice(0, 10), at: slot.starts_at };
    }

    const book = (date: unknown, time: unknown) =>
      post('BookAppointment', { provider: 'dr-lee', date, time, patient_id: 'P-1001' });
    const confirmation = (at: Date) => `Book Dr. Ada Lee on ${SLOT_TIME.format(at)} (UTC)?`;

    it('reads "10:00 PM" as 22:00, not as the 10:00 slot', async () => {
      const { date } = await tenOClock();
      const answer = await book(date, '10:00 PM');
      // Before: "Book Dr. Ada Lee on … 10:00 (UTC)?"
      expect(answer).toMatchObject({
        text: expect.stringMatching(/^Dr\. Ada Lee has no appointment at 22:00 that day\. Free times are: /),
        elicit: { parameter: 'time', invalid: true },
      });
      expect((await book(date, '10 AM')).text).toBe(confirmation((await tenOClock()).at));
    });

    it('books the offered UTC time a Dialogflow ES agent in another zone sends with its own offset', async () => {
      const { date, at } = await tenOClock();
      const es = async (dateValue: string, timeValue: string) =>
        (
          await request(t.baseUrl)
            .post('/v1/webhooks/dialogflow-es')
            .set(LOCAL_DEV_AUTH)
            .send(
              esRequest('BookAppointment', {
                provider: 'dr-lee',
                date: dateValue,
                time: timeValue,
                patient_id: 'P-1001',
              }),
            )
            .expect(200)
        ).body as Json;
      // The user tapped the offered "10:00" (UTC); the agent, at -05:00, resolved it as 10:00 in its own zone.
      const today = new Date().toISOString().slice(0, 10);
      expect((await es(`${date}T12:00:00-05:00`, `${today}T10:00:00-05:00`)).fulfillmentText).toBe(confirmation(at));
    });

    it('asks again for a time it does not understand, instead of reading its first digits', async () => {
      const { date } = await tenOClock();
      for (const time of ['10:00 tomorrow', '10:00abc', `${date}T10:00:00-05:00 or so`]) {
        // Before: "Book Dr. Ada Lee on … 10:00 (UTC)?" for the first two.
        expect({ time, answer: await book(date, time) }).toMatchObject({
          time,
          answer: {
            text: expect.stringMatching(/^Which time suits you\? Free times are: /),
            elicit: { invalid: true },
          },
        });
      }
    });
  });

  describe('QualifyLead numbers and budget currency', () => {
    const lead = (email: string, facts: Json) =>
      post('QualifyLead', { email, company: 'Initech', decision_maker: false, ...facts });
    const stored = (email: string) =>
      queryTestDatabase(
        t.database.url,
        `SELECT company_size, budget, timeline_months, score, queue FROM leads WHERE email = $1`,
        [email],
      );

    it('takes a blank timeline as not given, and "1e3" or "0x2" as no number', async () => {
      const blank = await lead('blank.timeline@initech.example', { timeline_months: '', company_size: '1e3' });
      // Before: score 50 (inside sales): the blank timeline read as 0 months, "1e3" as 1,000 employees.
      expect(blank.sessionParameters).toEqual({ lead_queue: 'nurture', lead_score: 0 });
      expect(await stored('blank.timeline@initech.example')).toEqual([
        { company_size: null, budget: null, timeline_months: null, score: 0, queue: 'nurture' },
      ]);
      await lead('hex.timeline@initech.example', { timeline_months: '0x2' });
      // Before: 2 months, score 30.
      expect(await stored('hex.timeline@initech.example')).toEqual([
        { company_size: null, budget: null, timeline_months: null, score: 0, queue: 'nurture' },
      ]);
      await lead('plain.numbers@initech.example', { timeline_months: ' 2 ', company_size: '250', budget: '50000.00' });
      expect(await stored('plain.numbers@initech.example')).toEqual([
        { company_size: 250, budget: 50_000, timeline_months: 2, score: 90, queue: 'enterprise-sales' },
      ]);
    });

    it('asks again for a budget it cannot read ("5e4", "50.000"), storing nothing yet; "50,000" is 50000', async () => {
      for (const budget of ['5e4', '50.000']) {
        const unread = await lead('unread.budget@initech.example', { budget });
        // Before: stored with no budget (scored without it), the user never asked; "5e4" was 50,000 before that.
        expect(unread).toMatchObject({
          text: "I didn't catch that budget. Roughly what is your yearly budget in USD, as a number such as 50000?",
          elicit: { parameter: 'budget', invalid: true },
        });
      }
      expect(await stored('unread.budget@initech.example')).toEqual([]);
      await lead('grouped.budget@initech.example', { budget: '50,000' });
      expect(await stored('grouped.budget@initech.example')).toEqual([
        { company_size: null, budget: 50_000, timeline_months: null, score: 40, queue: 'inside-sales' },
      ]);
    });

    it('asks for a budget in another currency again in US dollars, storing nothing yet', async () => {
      const yen = await lead('yen.budget@initech.example', { budget: { amount: 50_000, currency: 'JPY' } });
      // Before: scored and stored as a budget of 50,000 (inside sales), though ¥50,000 is some $330.
      expect(yen).toMatchObject({
        text: 'Our team plans budgets in USD. Roughly what is your yearly budget in USD?',
        elicit: { parameter: 'budget', invalid: true },
      });
      expect(await stored('yen.budget@initech.example')).toEqual([]);
      await lead('dollar.budget@initech.example', { budget: { amount: 50_000, currency: 'usd' } });
      expect(await stored('dollar.budget@initech.example')).toEqual([
        { company_size: null, budget: 50_000, timeline_months: null, score: 40, queue: 'inside-sales' },
      ]);
    });
  });

  describe('RequestStatement days', () => {
    async function statement(days: unknown): Promise<{ result: Json; filed: number }> {
      const requestId = randomUUID();
      const acknowledged = await post(
        'RequestStatement',
        { user_id: '12345', account_type: 'checking', days },
        requestId,
      );
      const id = (acknowledged.sessionParameters as Json).pendingFulfillmentId as string;
      const result = await eventually(async () => {
        const polled = await request(t.baseUrl).get(`/v1/fulfillments/${id}`).set(LOCAL_DEV_AUTH).expect(200);
        expect(polled.body.status).toBe('completed');
        return polled.body.result as Json;
      });
      const filed = await queryTestDatabase(t.database.url, 'SELECT 1 FROM statements WHERE idempotency_key = $1', [
        genericTurnKey(requestId),
      ]);
      return { result, filed: filed.length };
    }

    it('asks again for a period out of range or not a whole number, filing nothing', async () => {
      // Before: "0x10" filed 16 days, "1e2" 100 days, 400 and 0 the default 30 days, and 2.5 30 days.
      for (const days of ['0x10', '1e2', 400, '0', 2.5]) {
        expect({ days, ...(await statement(days)) }).toEqual({
          days,
          result: {
            text: 'I can make a statement for 1 to 366 days, so I made none yet. For how many days would you like it?',
            elicit: { parameter: 'days', invalid: true },
            source: 'banking-api',
          },
          filed: 0,
        });
      }
    });

    it('files the period asked for, and 30 days when none is given', async () => {
      expect((await statement(' 90 ')).result.text).toMatch(/^Your checking statement for the last 90 days is ready/);
      expect((await statement('')).result.text).toMatch(/^Your checking statement for the last 30 days is ready/);
    });
  });

  describe('GetRecentTransactions count', () => {
    const transactions = (parameters: Json) =>
      post('GetRecentTransactions', { user_id: '12345', account_type: 'savings', ...parameters });

    it('asks again for a count below 1 or not a whole number', async () => {
      // Before: "1e1" showed 10 transactions, 2.5 showed 2, 0, -3 and "0x3" showed 5.
      for (const [name, value] of [
        ['count', '1e1'],
        ['count', 2.5],
        ['count', 0],
        ['count', -3],
        ['number', '0x3'],
      ] as const) {
        expect({ value, answer: await transactions({ [name]: value }) }).toMatchObject({
          value,
          answer: {
            text: 'I can show 1 to 20 transactions. How many would you like to see?',
            elicit: { parameter: name, invalid: true },
          },
        });
      }
    });

    it('shows the count asked for, at most 20 (saying so), and 5 when none is given', async () => {
      expect((await transactions({ count: '3' })).text).toMatch(/^Here are the last 3 transactions/);
      expect((await transactions({ account_type: 'checking', count: 50 })).text).toMatch(
        /^Here are the last 20 transactions/,
      );
      expect((await transactions({ count: '' })).text).toMatch(/^Here are the last 5 transactions/);
    });
  });
});
