import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump as toYaml } from 'js-yaml';
import request from 'supertest';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/generic';
const ENTERPRISE = 'An account executive will call you within one business day.';
const NURTURE = "We'll send you some material to get started.";

type StoredLead = {
  caller_id: string;
  name: string | null;
  company: string;
  company_size: number | null;
  budget: number | null;
  timeline_months: number | null;
  decision_maker: boolean | null;
  score: number;
  queue: string;
};

describe('QualifyLead keeps what it learned, and each caller its own leads (real HTTP, real PostgreSQL)', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'wf-crm-leads-'));
  const tokens = { 'bot-a': randomBytes(24).toString('hex'), 'bot-b': randomBytes(24).toString('hex') };
  let t: TestApp;

  beforeAll(async () => {
    const callersFile = join(workDir, 'callers.yaml');
    writeFileSync(
      callersFile,
      toYaml({
        callers: Object.entries(tokens).map(([id, token]) => ({
          id,
          platforms: ['generic'],
          auth: { bearer: { tokens: [token] } },
        })),
      }),
    );
    t = await startTestApp({ env: { CALLERS_FILE: callersFile } });
  });
  afterAll(async () => {
    await t?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  const qualify = async (caller: keyof typeof tokens, parameters: Record<string, unknown>): Promise<string> => {
    const response = await request(t.baseUrl)
      .post(PATH)
      .set({ Authorization: `Bearer ${tokens[caller]}` })
      .send({
        requestId: randomUUID(),
        sessionId: `crm-${randomUUID()}`,
        intent: 'QualifyLead',
        stage: 'fulfillment',
        languageCode: 'en',
        parameters,
      })
      .expect(200);
    return String(response.body.text);
  };

  const leads = (email: string) =>
    queryTestDatabase<StoredLead>(
      t.database.url,
      `SELECT caller_id, name, company, company_size, budget, timeline_months, decision_maker, score, queue
         FROM leads WHERE email = $1 ORDER BY caller_id`,
      [email],
    );

  it('a returning lead keeps the facts it gave before, and is scored on all it is known by', async () => {
    const email = 'lin@acme.example';
    const first = await qualify('bot-a', {
      email,
      company: 'Acme',
      name: 'Lin',
      budget: 120000,
      company_size: 800,
      timeline_months: 2,
      decision_maker: 'yes',
    });
    expect(first).toBe(`Thanks, Lin! ${ENTERPRISE}`);
    // Back with one new fact: a longer timeline (no points), nothing else said.
    const again = await qualify('bot-a', { email: 'Lin@Acme.example', company: 'Acme', timeline_months: 6 });
    expect(again).toBe(`Thanks! ${ENTERPRISE}`);
    expect(await leads(email)).toEqual([
      {
        caller_id: 'bot-a',
        name: 'Lin',
        company: 'Acme',
        company_size: 800,
        budget: 120000,
        timeline_months: 6,
        decision_maker: true,
        score: 20 + 40 + 10,
        queue: 'enterprise-sales',
      },
    ]);
  });

  it("another caller's lead of the same email is its own: neither read nor overwritten", async () => {
    const email = 'kim@initech.example';
    await qualify('bot-a', { email, company: 'Initech', name: 'Kim', budget: 90000, company_size: 300 });
    const other = await qualify('bot-b', { email, company: 'Initech Labs' });
    // bot-b knows nothing of the budget bot-a was told: its lead starts from what it was told itself.
    expect(other).toBe(`Thanks! ${NURTURE}`);
    expect(await leads(email)).toEqual([
      {
        caller_id: 'bot-a',
        name: 'Kim',
        company: 'Initech',
        company_size: 300,
        budget: 90000,
        timeline_months: null,
        decision_maker: null,
        score: 60,
        queue: 'inside-sales',
      },
      {
        caller_id: 'bot-b',
        name: null,
        company: 'Initech Labs',
        company_size: null,
        budget: null,
        timeline_months: null,
        decision_maker: null,
        score: 0,
        queue: 'nurture',
      },
    ]);
  });

  it('two turns of one lead at once each add their facts', async () => {
    const email = 'ash@globex.example';
    await Promise.all([
      qualify('bot-a', { email, company: 'Globex', budget: 75000 }),
      qualify('bot-a', { email, company: 'Globex', company_size: 150 }),
    ]);
    expect(await leads(email)).toEqual([
      expect.objectContaining({ caller_id: 'bot-a', budget: 75000, company_size: 150, score: 60 }),
    ]);
  });
});
