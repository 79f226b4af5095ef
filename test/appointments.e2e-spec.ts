import request from 'supertest';
import { esRequest, LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { startTestApp, TestApp } from './support/test-app';
import { queryTestDatabase } from './support/test-database';

const PATH = '/v1/webhooks/dialogflow-es';

describe('appointments (real HTTP, real PostgreSQL)', () => {
  let t: TestApp;
  let firstFree: { date: string; time: string };

  beforeAll(async () => {
    t = await startTestApp({ env: { DB_POOL_SIZE: '10' } });
    const [slot] = await queryTestDatabase<{ starts_at: Date }>(
      t.database.url,
      `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = 'dr-lee' AND s.starts_at > now() ORDER BY s.starts_at LIMIT 1`,
    );
    const iso = slot.starts_at.toISOString();
    firstFree = { date: iso.slice(0, 10), time: iso.slice(11, 16) };
  });
  afterAll(() => t.close());

  const send = (intent: string, parameters: Record<string, unknown>) =>
    request(t.baseUrl).post(PATH).set(LOCAL_DEV_AUTH).send(esRequest(intent, parameters)).expect(200);

  it('asks which provider, listing them, then lists free times of the chosen one', async () => {
    const ask = await send('FindAppointmentSlots', {});
    expect(ask.body.fulfillmentText).toBe(
      'Which doctor would you like to see? Dr. Ada Lee (cardiology) or Dr. Ravi Patel (dermatology)?',
    );
    const slots = await send('FindAppointmentSlots', { provider: 'dr-lee', date: firstFree.date });
    expect(slots.body.fulfillmentText).toMatch(/^Dr\. Ada Lee has these free times \(UTC\): /);
    expect(slots.body.fulfillmentMessages[1].quickReplies.quickReplies[0]).toBe(firstFree.time);
  });

  it('walks a booking through: missing time, confirmation, booked with a reference; then cancels it', async () => {
    const base = { provider: 'Lee', date: firstFree.date, patient_id: 'P-1001' };
    const time = await send('BookAppointment', base);
    expect(time.body.fulfillmentText).toMatch(/^Which time suits you\? Free times are: /);
    const confirm = await send('BookAppointment', { ...base, time: firstFree.time });
    expect(confirm.body.fulfillmentText).toMatch(/^Book Dr\. Ada Lee on .+ \(UTC\)\?$/);
    const booked = await send('BookAppointment', { ...base, time: firstFree.time, confirmation: 'yes' });
    const reference = /Your reference is ([A-Z0-9]{6})\./.exec(booked.body.fulfillmentText)?.[1];
    expect(reference).toBeDefined();
    const rows = await queryTestDatabase(
      t.database.url,
      `SELECT 1 FROM appointments WHERE reference = $1 AND status = 'booked'`,
      [reference],
    );
    expect(rows).toHaveLength(1);

    const cancelled = await send('CancelAppointment', { reference, patient_id: 'P-1001' });
    expect(cancelled.body.fulfillmentText).toMatch(/^Your appointment on .+ \(UTC\) is cancelled\.$/);
    const wrongPatient = await send('CancelAppointment', { reference, patient_id: 'P-9999' });
    expect(wrongPatient.body.fulfillmentText).toMatch(/^I couldn't find a booked appointment/);
  });

  it('lets exactly one of 20 concurrent bookings of one slot through; the others hear it was just taken', async () => {
    const [slot] = await queryTestDatabase<{ starts_at: Date }>(
      t.database.url,
      `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = 'dr-patel' AND s.starts_at > now() ORDER BY s.starts_at LIMIT 1`,
    );
    const iso = slot.starts_at.toISOString();
    const parameters = { provider: 'dr-patel', date: iso.slice(0, 10), time: iso.slice(11, 16), confirmation: 'yes' };
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => send('BookAppointment', { ...parameters, patient_id: `P-${2000 + i}` })),
    );
    const texts = responses.map((r) => String(r.body.fulfillmentText));
    expect(texts.filter((text) => text.startsWith("You're booked")).length).toBe(1);
    expect(texts.filter((text) => text.startsWith('Sorry, that slot was just taken.')).length).toBe(19);
    const booked = await queryTestDatabase(
      t.database.url,
      `SELECT a.id FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id
        WHERE s.starts_at = $1 AND a.status = 'booked'`,
      [slot.starts_at],
    );
    expect(booked).toHaveLength(1);
  });

  it('re-asks with the free times when the requested time has no slot', async () => {
    const response = await send('BookAppointment', {
      provider: 'dr-lee',
      date: firstFree.date,
      time: '03:17',
      patient_id: 'P-1001',
    });
    expect(response.body.fulfillmentText).toMatch(
      /^Dr\. Ada Lee has no appointment at 03:17 that day\. Free times are: /,
    );
  });
});
