import { randomUUID } from 'node:crypto';
import { LOCAL_DEV_AUTH } from './support/dialogflow-es.fixtures';
import { eventually } from './support/eventually';
import { freePort, ServiceProcess, startService } from './support/service-process';
import { describeWithStreamingReplication, StreamingPair } from './support/streaming-replica';

const PATH = '/v1/webhooks/generic';

type Reply = { contexts?: { parameters: { balance?: number } }[]; text: string };

/**
 * The service on a primary with a real streaming replica (pg_basebackup), as a real process: which reads go where,
 * read-your-writes while the replica is held back, and a replica that stops and comes back.
 */
describeWithStreamingReplication()('read replicas (a real streaming replica of a real primary)', () => {
  let pair: StreamingPair;
  let service: ServiceProcess;
  let baseUrl: string;
  let metricsUrl: string;
  let replicaName: string;

  beforeAll(async () => {
    pair = await StreamingPair.start(await freePort(), await freePort());
    replicaName = `127.0.0.1:${pair.replica.port}/postgres`;
    const [port, metricsPort] = [await freePort(), await freePort()];
    baseUrl = `http://127.0.0.1:${port}`;
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    service = startService({
      NODE_ENV: 'development',
      DATABASE_URL: pair.url('primary'),
      DATABASE_REPLICA_URLS: pair.url('replica'),
      REPLICA_MAX_LAG_MS: '20000',
      REPLICA_CHECK_INTERVAL_MS: '100',
      SEED_DEMO_DATA: 'true',
      // The cache would answer the reads this test routes: off, so every turn reads the database.
      CACHE_ENABLED: 'false',
      METRICS_ENABLED: 'true',
      METRICS_PORT: String(metricsPort),
      PORT: String(port),
      LOG_LEVEL: 'info',
    });
    await service.waitFor(/"msg":"Listening/, 90_000);
  }, 180_000);

  afterAll(async () => {
    service?.child.kill('SIGTERM');
    await service?.exited;
    await pair?.close();
  }, 60_000);

  const post = async (body: Record<string, unknown>): Promise<Reply> => {
    const response = await fetch(`${baseUrl}${PATH}`, {
      method: 'POST',
      headers: { ...LOCAL_DEV_AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Reply;
  };
  const balance = async (customer: string) =>
    (
      await post({
        requestId: randomUUID(),
        sessionId: `s-${randomUUID()}`,
        intent: 'GetAccountBalance',
        parameters: { user_id: customer, account_type: 'checking' },
      })
    ).contexts?.[0]?.parameters.balance;
  const transfer = () =>
    post({
      requestId: randomUUID(),
      sessionId: `s-${randomUUID()}`,
      intent: 'TransferFunds',
      stage: 'fulfillment',
      confirmation: 'confirmed',
      parameters: { user_id: '12345', from_account: 'checking', to_account: 'savings', amount: 1 },
    });
  const checking = async (which: 'primary' | 'replica') => {
    const [row] = await pair.query<{ balance_minor: string }>(
      which,
      `SELECT a.balance_minor FROM accounts a JOIN customers c ON c.id = a.customer_id
        WHERE c.customer_number = '12345' AND a.account_type = 'checking'`,
    );
    return Number(row.balance_minor) / 100;
  };
  const reads = async (labels: RegExp): Promise<number> =>
    (await (await fetch(metricsUrl)).text())
      .split('\n')
      .filter((line) => line.startsWith('db_replica_reads_total{') && labels.test(line))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  const toReplica = () => reads(new RegExp(`target="${replicaName.replace(/[.]/g, '\\.')}"`));
  const readiness = async () => {
    const response = await fetch(`${baseUrl}/health/ready`);
    const body = (await response.json()) as {
      details: { readReplicas: { replicas: { replica: number; readable: boolean; lagMs?: number }[] } };
    };
    return { status: response.status, replica: body.details.readReplicas.replicas[0], text: JSON.stringify(body) };
  };

  it('sends reads that tolerate lag to the replica once it is known to be healthy', async () => {
    await eventually(async () => expect((await readiness()).replica).toMatchObject({ readable: true }), 30_000);
    const before = await toReplica();
    expect(await balance('67890')).toBeGreaterThan(0);
    expect(await toReplica()).toBe(before + 1);
  });

  it('reads its own write right after it, while the replica is held back, and other customers still read the replica', async () => {
    await pair.delayReplay(3000);
    try {
      const behindWrite = () => reads(/reason="behind_write"/);
      await transfer();
      // Counted after the transfer, whose own first read (before it wrote) may have gone to the replica.
      const [onReplica, heldBack] = [await toReplica(), await behindWrite()];
      const written = await checking('primary');
      // The replica has not applied the transfer yet: reading it would show the old balance.
      expect(await checking('replica')).toBeCloseTo(written + 1, 2);
      expect(await balance('12345')).toBeCloseTo(written, 2);
      expect(await behindWrite()).toBe(heldBack + 1);
      expect(await toReplica()).toBe(onReplica);
      expect(await balance('67890')).toBeGreaterThan(0);
      expect(await toReplica()).toBe(onReplica + 1);
      // Once the replica has replayed the write, the customer's reads go back to it: no fixed sleep decides that.
      await eventually(async () => expect(await checking('replica')).toBeCloseTo(written, 2), 15_000);
      await eventually(async () => {
        const count = await toReplica();
        expect(await balance('12345')).toBeCloseTo(written, 2);
        expect(await toReplica()).toBe(count + 1);
      }, 5_000);
    } finally {
      await pair.delayReplay(0);
    }
  });

  const turn = (intent: string, parameters: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    post({ requestId: randomUUID(), sessionId: `s-${randomUUID()}`, intent, parameters, ...extra });
  /** The earliest slot of a provider nobody has booked, as the primary has it. */
  const firstFreeSlot = async (slug: string) => {
    const [row] = await pair.query<{ starts_at: Date }>(
      'primary',
      `SELECT s.starts_at FROM appointment_slots s JOIN providers p ON p.id = s.provider_id
        WHERE p.slug = '${slug}' AND s.starts_at > now()
          AND NOT EXISTS (SELECT 1 FROM appointments a WHERE a.slot_id = s.id AND a.status = 'booked')
        ORDER BY s.starts_at LIMIT 1`,
    );
    const iso = row.starts_at.toISOString();
    return { startsAt: row.starts_at, date: iso.slice(0, 10), time: iso.slice(11, 16) };
  };
  const bookedOn = async (which: 'primary' | 'replica', startsAt: Date) =>
    (
      await pair.query<{ n: string }>(
        which,
        `SELECT count(*) AS n FROM appointments a JOIN appointment_slots s ON s.id = a.slot_id
          WHERE s.starts_at = '${startsAt.toISOString()}' AND a.status = 'booked'`,
      )
    )[0].n;

  it('sends catalogue, order-status and free-slot reads to the replica too', async () => {
    await eventually(async () => expect((await readiness()).replica).toMatchObject({ readable: true }), 30_000);
    let before = await toReplica();
    expect((await turn('CheckInventory', { sku: 'x200' })).text).toBe(
      'X200 Wireless Headphones (X200): 42 in stock — 12 in Berlin warehouse, 30 in New Jersey warehouse.',
    );
    // The product by SKU, its stock levels, the warehouses.
    expect(await toReplica()).toBe(before + 3);

    before = await toReplica();
    expect((await turn('GetOrderStatus', { user_id: '12345', order_id: 'ord-10042' })).text).toBe(
      'Order ORD-10042 has shipped. Tracking number: DP123456789.',
    );
    expect(await toReplica()).toBe(before + 1);

    const slot = await firstFreeSlot('dr-lee');
    before = await toReplica();
    expect((await turn('FindAppointmentSlots', { provider: 'dr-lee', date: slot.date })).text).toContain(slot.time);
    // The provider by slug, then the day's free slots.
    expect(await toReplica()).toBe(before + 2);
  });

  it("reads a provider's free slots from the primary right after a booking, until the replica has replayed it", async () => {
    const slot = await firstFreeSlot('dr-patel');
    await pair.delayReplay(3000);
    try {
      const behindWrite = () => reads(/reason="behind_write"/);
      const booked = await turn(
        'BookAppointment',
        { provider: 'dr-patel', date: slot.date, time: slot.time, patient_id: 'P-7001' },
        { stage: 'fulfillment', confirmation: 'confirmed' },
      );
      expect(booked.text).toMatch(/^You're booked/);
      expect(await bookedOn('primary', slot.startsAt)).toBe('1');
      // The replica has not applied the booking: its free slots would still offer the time.
      expect(await bookedOn('replica', slot.startsAt)).toBe('0');

      const [onReplica, heldBack] = [await toReplica(), await behindWrite()];
      const free = await turn('FindAppointmentSlots', { provider: 'dr-patel', date: slot.date });
      expect(free.text).toMatch(/^Dr\. Ravi Patel has these free times/);
      expect(free.text).not.toContain(slot.time);
      // The provider's lookup (no write of its own) still went to the replica; the free slots to the primary.
      expect(await behindWrite()).toBe(heldBack + 1);
      expect(await toReplica()).toBe(onReplica + 1);

      // Another provider's slots are not held back by this booking.
      const other = await firstFreeSlot('dr-lee');
      await turn('FindAppointmentSlots', { provider: 'dr-lee', date: other.date });
      expect(await toReplica()).toBe(onReplica + 3);
    } finally {
      await pair.delayReplay(0);
    }
  });

  it('skips a stopped replica (readiness stays ready and says so) and uses it again when it is back', async () => {
    await pair.replica.stop();
    await eventually(async () =>
      expect(await readiness()).toMatchObject({ status: 200, replica: { replica: 1, readable: false } }),
    );
    // Unauthenticated: the replica by position, never its host or the driver's error text.
    const { text } = await readiness();
    expect(text).not.toContain(`${pair.replica.port}`);
    expect(text).not.toMatch(/ECONNREFUSED|connect|terminat/i);
    const onReplica = await toReplica();
    for (let i = 0; i < 5; i++) expect(await balance('67890')).toBeGreaterThan(0);
    expect(await toReplica()).toBe(onReplica);

    await pair.replica.start();
    await eventually(async () => expect((await readiness()).replica).toMatchObject({ readable: true }), 30_000);
    expect(await balance('67890')).toBeGreaterThan(0);
    expect(await toReplica()).toBe(onReplica + 1);
  });
});
