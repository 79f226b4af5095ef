// What the bench scripts share (bench/run.mjs, bench/profile.mjs): servers pinned to core 0 and load generators to
// core 1 where taskset exists, CPU time per process, and an OTLP sink standing in for a collector.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { README_BODY } from './request.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
export const BEARER_TOKEN = 'bench-bearer-token-0123456789';

export const pinning = availableParallelism() >= 2 && existsSync('/usr/bin/taskset');

export function pinned(core, args) {
  return pinning ? ['taskset', ['-c', String(core), ...args]] : [args[0], args.slice(1)];
}

/**
 * Starts a server (`script`, with `nodeArgs` before it) pinned to core 0 and resolves once it prints "Listening";
 * its output is drained from then on.
 */
export function startServer(name, script, env, nodeArgs = []) {
  const [command, args] = pinned(0, [process.execPath, ...nodeArgs, script]);
  const child = spawn(command, args, {
    cwd: root,
    // Several services run at once here: the console's fixed default port is left to none of them.
    env: { ...process.env, NO_COLOR: '1', ADMIN_ENABLED: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 120_000);
    const onData = (chunk) => {
      output += chunk;
      if (/Listening/.test(output)) {
        clearTimeout(timer);
        // From here on the output (one access log line per request) is drained, not kept.
        child.stdout.off('data', onData);
        child.stderr.off('data', onData);
        child.stdout.resume();
        child.stderr.resume();
        resolve({
          pid: child.pid,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done();
              child.once('exit', done);
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening:\n${output}`)));
  });
}

/** Sends one request as the bench's bearer caller and throws unless the answer is a 200 containing `expected`. */
export async function checkAnswer(url, expected, body = README_BODY) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { Authorization: `Bearer ${BEARER_TOKEN}`, 'Content-Type': 'application/json' },
    body,
  });
  const text = await response.text();
  if (response.status !== 200 || !text.includes(expected)) {
    throw new Error(`${url} answered ${response.status} ${text.slice(0, 300)}: expected it to contain ${expected}`);
  }
}

/** `url` is an HTTP URL, or `{ grpc: 'host:port', expected }` for the gRPC Fulfill load (grpc-load.mjs). */
export function load(url, seconds, auth, body = README_BODY) {
  const grpc = typeof url === 'object';
  const script = join(root, 'bench', grpc ? 'grpc-load.mjs' : 'load.mjs');
  const options = JSON.stringify(
    grpc
      ? { target: url.grpc, expected: url.expected, seconds, connections: CONNECTIONS, token: auth.token }
      : { url, seconds, connections: CONNECTIONS, body, auth },
  );
  const [command, args] = pinned(1, [process.execPath, script, options]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => {
      if (code !== 0) return reject(Object.assign(new Error(`load generator exited ${code}`), { exitCode: code }));
      resolve(JSON.parse(out));
    });
  });
}

/** User + system CPU time of a process in microseconds (Linux /proc; taskset execs, so the pid is the server's). */
export function cpuMicros(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
  } catch {
    return NaN;
  }
}

/**
 * The service's environment for tracing on with every span exported: OTLP http/protobuf (the default protocol)
 * to `endpoint`, with a queue large enough that the batch processor drops nothing.
 */
export function exportEverySpan(endpoint) {
  return {
    OTEL_SDK_DISABLED: 'false',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
    OTEL_BSP_MAX_QUEUE_SIZE: '65536',
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
    OTEL_BSP_SCHEDULE_DELAY: '500',
  };
}

/** Spans in an OTLP ExportTraceServiceRequest: resource_spans(1) → scope_spans(2) → spans(2), read off the wire. */
export function countSpans(buffer) {
  const varint = (at) => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = buffer[at++];
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return [value, at];
      shift += 7;
    }
  };
  const fields = (start, end, wanted) => {
    const found = [];
    for (let at = start; at < end;) {
      const [tag, next] = varint(at);
      const type = tag & 7;
      if (type === 2) {
        const [length, from] = varint(next);
        if (tag >>> 3 === wanted) found.push([from, from + length]);
        at = from + length;
      } else if (type === 0) at = varint(next)[1];
      else if (type === 1) at = next + 8;
      else if (type === 5) at = next + 4;
      else throw new Error(`unexpected protobuf wire type ${type}`);
    }
    return found;
  };
  let spans = 0;
  for (const [rs, rsEnd] of fields(0, buffer.length, 1)) {
    for (const [ss, ssEnd] of fields(rs, rsEnd, 2)) spans += fields(ss, ssEnd, 2).length;
  }
  return spans;
}

/** An OTLP/HTTP receiver that counts spans and bytes and answers 200, standing in for a collector. */
export async function startOtlpSink() {
  let spans = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      bytes += body.length;
      spans += countSpans(body);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    spans: () => spans,
    bytes: () => bytes,
    reset: () => {
      spans = 0;
      bytes = 0;
    },
    close: () => new Promise((done) => server.close(done)),
  };
}
