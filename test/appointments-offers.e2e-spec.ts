import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { SLOT_TIME } from './support/slot-time';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/generic';
const DAY_MS = 86_400_000;

type Json = Record<string, unknown>;

interface Reply {
  text: string;
  messages: { type: string; replies?: string[] }[];
  elicit?: { parameter: string; invalid?: boolean };
  confirm?: boolean;
  failed?: boolean;
  sessionParameters?: Json;
}

/** A UTC day `days` from today, as `YYYY-MM-DD`. */
const dayAhead = (days: number): string => new Date(Date.now() + days * DAY_MS).toISOString().slice(0, 10);

/** How the reply names a slot ("Tue, Dec 8, 11:30"). */
const shown = (date: string, time: string): string => SLOT_TIME.format(new Date(`${date}T${time}:00Z`));

const quickReplies = (reply: Reply): string[] =>
  reply.messages.find((message) => message.type === 'quick-replies')?.replies ?? [];

/** The times a reply offers, as it names them ("Sorry, … are: Tue, Dec 8, 10:00; Tue, Dec 8, 10:30."). */
const offeredTimes = (reply: Reply): string[] =>
  reply.text
    .slice(reply.text.indexOf(':') + 1, -1)
    .split(';')
    .map((time) => time.trim());

describe('BookAppointment offers times that book what they show, and never a booked slot (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { DB_POOL_SIZE: '10' } });
  });
  afterAll(() => t.close());

  const turn = async (
    parameters: Json,
    extra: { confirmation?: string; sessionParameters?: Json } = {},
  ): Promise<Reply> => {
    const response = await request(t.baseUrl)
      .post(PATH)
      .set(LOCAL_DEV_AUTH)
      .send({
        requestId: randomUUID(),
        sessionId: `offers-${randomUUID()}`,
        intent: 'BookAppointment',
        stage: 'fulfillment',
        languageCode: 'en',
        parameters: { provider: 'dr-lee', ...parameters },
        ...extra,
      })
      .expect(200);
    return response.body as Reply;
  };

  /** Books a slot for a patient straight in the database (another bot, the practice's own calendar). */
  const bookDirectly = (date: string, time: string, patient: string) =>
    queryTestDatabase(
      t.database.url,
      `INSERT INTO appointments (slot_id, patient_ref, status, reference)
       SELECT s.id, $2, 'booked', upper(substr(md5(random()::text), 1, 8))
         FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = 'dr-lee' AND s.starts_at = $1::timestamptz`,
      [`${date}T${time}:00Z`, patient],
    );

  it('after "that slot was just taken", offers the free times of the same day nearest to it, and each books what it shows', async () => {
    const day = dayAhead(2);
    const asked = await turn({ date: day, time: '11:30', patient_id: 'P-ASKER' });
    expect(asked.text).toBe(`Book Dr. Ada Lee on ${shown(day, '11:30')} (UTC)?`);
    // Another patient books the slot before the "yes" comes.
    const other = await turn({ date: day, time: '11:30', patient_id: 'P-OTHER' }, { confirmation: 'confirmed' });
    expect(other.text).toMatch(/^You're booked with Dr\. Ada Lee/);

    const taken = await turn(
      { date: day, time: '11:30', patient_id: 'P-ASKER' },
      { confirmation: 'confirmed', sessionParameters: asked.sessionParameters },
    );
    // The times nearest to 11:30 on that day (it was the last one: it used to offer the next day's 09:00–10:00).
    expect(taken.text).toBe(
      `Sorry, that slot was just taken. Other free times that day are: ${['10:00', '10:30', '11:00']
        .map((time) => shown(day, time))
        .join('; ')}.`,
    );
    expect(quickReplies(taken)).toEqual(['10:00', '10:30', '11:00']);
    expect(taken.elicit).toEqual({ parameter: 'time', invalid: true });

    // Tapping an offered time (the platform fills `time`, the date stays) asks to book exactly the time shown.
    const offered = offeredTimes(taken);
    for (const [i, reply] of quickReplies(taken).entries()) {
      const picked = await turn({ date: day, time: reply, patient_id: 'P-ASKER' });
      expect(picked.text).toBe(`Book Dr. Ada Lee on ${offered[i]} (UTC)?`);
    }
  });

  it('when the day has nothing else free, asks for another day instead of offering times of another day', async () => {
    const day = dayAhead(3);
    for (const time of ['09:00', '09:30', '10:00', '10:30', '11:00']) await bookDirectly(day, time, `P-FULL-${time}`);
    const asked = await turn({ date: day, time: '11:30', patient_id: 'P-LATE' });
    await bookDirectly(day, '11:30', 'P-FIRST');
    const taken = await turn(
      { date: day, time: '11:30', patient_id: 'P-LATE' },
      { confirmation: 'confirmed', sessionParameters: asked.sessionParameters },
    );
    const dayName = new Intl.DateTimeFormat('en', {
      weekday: 'short',
      month: 'short',
      day: 'numeric',
      timeZone: 'UTC',
    }).format(new Date(`${day}T00:00:00Z`));
    expect(taken.text).toBe(
      `Sorry, that slot was just taken, and Dr. Ada Lee has no other free times on ${dayName}. Which other day would suit you?`,
    );
    expect(taken.elicit).toEqual({ parameter: 'date', invalid: true });
    expect(quickReplies(taken)).toEqual([]);
  });

  it('20 patients confirming one slot at once: the 19 who lose it are offered free times of that day only', async () => {
    const day = dayAhead(4);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        turn({ date: day, time: '09:00', patient_id: `P-RACE-${i}` }, { confirmation: 'confirmed' }),
      ),
    );
    const lost = replies.filter((reply) => reply.text.startsWith('Sorry, that slot was just taken.'));
    expect(lost).toHaveLength(19);
    for (const reply of lost) {
      expect(quickReplies(reply)).toEqual(['09:30', '10:00', '10:30']);
      expect(offeredTimes(reply)).toEqual(['09:30', '10:00', '10:30'].map((time) => shown(day, time)));
    }
  });

  it('offers the free times at once for a slot another patient holds, instead of asking to book it', async () => {
    const day = dayAhead(5);
    await bookDirectly(day, '10:00', 'P-HOLDER');
    const reply = await turn({ date: day, time: '10:00', patient_id: 'P-NEWCOMER' });
    expect(reply.confirm).toBeUndefined();
    // 09:30 and 10:30 are nearest; 09:00 and 11:00 are as near as each other, and the earlier one is offered.
    expect(reply.text).toBe(
      `Sorry, that slot was just taken. Other free times that day are: ${['09:00', '09:30', '10:30']
        .map((time) => shown(day, time))
        .join('; ')}.`,
    );
    expect(reply.elicit).toEqual({ parameter: 'time', invalid: true });
    // Before the patient number too: the slot is not free for anyone.
    expect((await turn({ date: day, time: '10:00' })).text).toMatch(/^Sorry, that slot was just taken\. Other free/);
  });

  it('tells the patient who holds the slot so, asked or confirmed, and books nothing more', async () => {
    const day = dayAhead(6);
    await bookDirectly(day, '09:30', 'P-KEEPER');
    const held = `You already have this appointment: Dr. Ada Lee on ${shown(day, '09:30')} (UTC).`;
    const asked = await turn({ date: day, time: '09:30', patient_id: 'P-KEEPER' });
    expect(asked).toMatchObject({ text: held, failed: true });
    expect(asked.confirm).toBeUndefined();
    const confirmed = await turn({ date: day, time: '09:30', patient_id: 'P-KEEPER' }, { confirmation: 'confirmed' });
    expect(confirmed).toMatchObject({ text: held, failed: true });
    const [{ n }] = await queryTestDatabase<{ n: string }>(
      t.database.url,
      `SELECT count(*) AS n FROM appointments WHERE patient_ref = 'P-KEEPER'`,
    );
    expect(n).toBe('1');
  });

  it('a "yes" said again to the question that booked the slot still answers with that booking', async () => {
    const day = dayAhead(7);
    const parameters = { date: day, time: '10:30', patient_id: 'P-TWICE' };
    const asked = await turn(parameters);
    expect(asked.confirm).toBe(true);
    const yes = { confirmation: 'confirmed', sessionParameters: asked.sessionParameters };
    const booked = await turn(parameters, yes);
    const again = await turn(parameters, yes);
    expect(booked.text).toMatch(/^You're booked with Dr\. Ada Lee on .+ Your reference is [A-Z0-9]{6}\.$/);
    expect(again.text).toBe(booked.text);
  });
});
