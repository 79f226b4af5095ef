// scratch (never commit): node bench/.icrun.tmp.mjs ROW SECS -> IC-miss log of the service under that row
import { load, BEARER_TOKEN } from './harness.mjs';
import { PLATFORM_RUNS, platformBody, transferBody, README_BODY } from './request.mjs';
import { createTransferCustomers } from './database.mjs';
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
const [row = 'es', secs = '3'] = process.argv.slice(2);
const port = 19500; const url = 'postgres://postgres@127.0.0.1:5432/wf_census';
const env = { ...process.env, NO_COLOR: '1', ADMIN_ENABLED: 'false', DATABASE_URL: url, LOG_LEVEL: 'info', CALLERS_FILE: '/tmp/prof/callers.yaml', THROTTLE_LIMIT: '1000000', PREAUTH_LIMIT: '10000000', OTEL_SDK_DISABLED: 'true', CACHE_ENABLED: 'false', PORT: String(port), GRPC_PORT: String(port + 1), METRICS_PORT: String(port + 50) };
const log = `/tmp/prof/ic-${row}.log`;
const child = spawn('taskset', ['-c', '0', process.execPath, ...(process.env.NODE_ARGS ?? `--log-ic --logfile=${log} --no-logfile-per-isolate`).split(' ').filter(Boolean), 'dist/main.js'], { cwd: process.env.SVC_DIR ?? process.cwd(), env: { ...env, NODE_DISABLE_COMPILE_CACHE: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((r) => { let o = ''; child.stdout.on('data', (d) => { o += d; if (process.env.OUT) appendFileSync(process.env.OUT, d); if (process.env.SHOW) process.stderr.write(String(d).split('\n').filter((l) => l.startsWith(process.env.SHOW)).join('\n')); if (o.includes('Listening')) r(); }); });
const t0 = Date.now();
let target, body = README_BODY;
if (row === 'transfer') { await createTransferCustomers(url); target = `http://127.0.0.1:${port}/v1/webhooks/generic`; body = transferBody('__TURN_ID__'); }
else if (row === 'grpc') target = { grpc: `127.0.0.1:${port + 1}`, expected: '$3,247.82' };
else if (row !== 'es') { const r = PLATFORM_RUNS.find((x) => x.key === row); target = `http://127.0.0.1:${port}${r.path}`; body = platformBody(r); }
else target = `http://127.0.0.1:${port}/v1/webhooks/dialogflow-es`;
await load(target, 2, { kind: 'bearer', token: BEARER_TOKEN }, body);
const mark = Date.now() - t0;
const res = await load(target, +secs, { kind: 'bearer', token: BEARER_TOKEN }, body);
console.log(JSON.stringify({ row, requests: res.requests?.total, non2xx: res.non2xx, errors: res.errors, warmMs: mark }));
child.kill(); await new Promise((r) => child.once('exit', r));
