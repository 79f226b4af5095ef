import { rm } from 'node:fs/promises';
import pg from 'pg';

export default async function globalTeardown() {
  // Once, after the last project of the run.
  if (globalThis.__WF_TORN_DOWN__) return;
  globalThis.__WF_TORN_DOWN__ = true;
  await globalThis.__WF_REDIS__?.stop();
  const template = globalThis.__WF_TEMPLATE__;
  if (template) {
    const admin = new pg.Client({ connectionString: template.serverUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${template.template}`);
    } finally {
      await admin.end();
    }
  }
  const embedded = globalThis.__WF_EMBEDDED__;
  if (embedded) {
    await embedded.running.stop();
    await rm(embedded.parent, { recursive: true, force: true });
  }
}
