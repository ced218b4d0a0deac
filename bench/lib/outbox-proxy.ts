/**
 * `pnpm bench outbox`'s proxy cases: `q-outbox serve` in its own process (the workspace's launcher,
 * sources through tsx as `pnpm bench` runs them) in front of the bench's redis-server, driven by an
 * undici `Pool` of 256 keep-alive connections with one request in flight on each: one message per
 * `POST /v1/messages`, and NDJSON batches of 100 messages. Besides the rate, it reports where the time
 * goes: CPU seconds of the proxy, of this (client) process and of redis-server per request, and the
 * same client against the machine's HTTP floor (a `node:http` server that stores nothing).
 *
 * `Q_BENCH_OUTBOX_PROFILE=<dir>` starts the proxy with `--cpu-prof --cpu-prof-dir=<dir>`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { Pool } from 'undici';
import { freePort } from '../../packages/redis/test/support/redis-server.js';
import { cpuSecondsOf, ownCpuSeconds, redisCpuSeconds } from './cpu.js';
import { bodyOf, timedLoops } from './synced-write.js';

/** Keep-alive connections, one request in flight on each. */
export const CONNECTIONS = 256;
/** Messages per NDJSON request. */
export const NDJSON_LINES = 100;

const LAUNCHER = fileURLToPath(new URL('../../packages/outbox/bin/q-outbox.js', import.meta.url));
/** What one proxy case measured. */
export interface ProxyResult {
  /** Messages acknowledged (200) per second. */
  readonly messagesPerSecond: number;
  readonly requestsPerSecond: number;
  /** Mean time a request took, in milliseconds (connections / requests per second: a closed loop). */
  readonly meanLatencyMs: number;
  /** CPU microseconds per request: the proxy process, the client (this process), redis-server. */
  readonly proxyCpuUsPerRequest: number;
  readonly clientCpuUsPerRequest: number;
  readonly redisCpuUsPerRequest: number;
  /** Share of one core each used during the phase. */
  readonly proxyCores: number;
  readonly clientCores: number;
}

/** A running proxy (or the HTTP floor) and the pool talking to it. */
export interface ProxyHandle {
  readonly pid: number;
  readonly pool: Pool;
  /** Messages the proxy acknowledged so far. */
  acknowledged: number;
  stop(): Promise<void>;
}

/** Starts `q-outbox serve` on a free port over `dir`, sinking into `redisUrl/key`; waits for its health. */
export async function startProxy(dir: string, redisUrl: string, key: string): Promise<ProxyHandle> {
  const port = await freePort();
  const profile = process.env.Q_BENCH_OUTBOX_PROFILE;
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...process.execArgv,
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
      LAUNCHER,
      'serve',
      '--dir',
      dir,
      '--sink',
      `${redisUrl}/${key}`,
      '--port',
      String(port),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return handleOf(child, port, dir);
}

/** A handle on `child` once it answers 200 to `GET /v1/health` on `port` (the floor answers every request so). */
async function handleOf(child: ChildProcess, port: number, dir: string | undefined): Promise<ProxyHandle> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONNECTIONS, pipelining: 1 });
  const deadline = performance.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server process exited with ${child.exitCode}`);
    try {
      const { statusCode, body } = await pool.request({ path: '/v1/health', method: 'GET' });
      await body.dump();
      if (statusCode === 200) break;
    } catch {
      // Not listening yet.
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('the server process did not answer within 30 s');
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    pid: child.pid as number,
    pool,
    acknowledged: 0,
    async stop() {
      await pool.close();
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(killer);
      }
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The HTTP floor of this machine: a plain `node:http` server in its own process (no TypeScript loader)
 * that reads each request's body and answers 200 with a small JSON body at once, storing nothing. What
 * the proxy reaches against it is what its own work (parsing, the outbox, the log) costs.
 */
const FLOOR_SCRIPT = `
const http = require('node:http');
const answer = Buffer.from('{"id":"floor:0","duplicate":false}');
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': answer.length });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[1]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

/** Starts the HTTP floor server on a free port; the same handle as a proxy's. */
export async function startHttpFloor(): Promise<ProxyHandle> {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', FLOOR_SCRIPT, String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  return handleOf(child, port, undefined);
}

/** The request each of the 256 loops repeats: one message, or an NDJSON batch of 100. */
function requestOf(size: number, batched: boolean): { path: string; body: Buffer; contentType: string } {
  if (!batched) return { path: '/v1/messages', body: bodyOf(size, 0), contentType: 'application/octet-stream' };
  const lines = Array.from({ length: NDJSON_LINES }, (_, i) => JSON.stringify({ body: bodyOf(size, i).toString() }));
  return {
    path: '/v1/messages/batch',
    body: Buffer.from(`${lines.join('\n')}\n`),
    contentType: 'application/x-ndjson',
  };
}

/** 256 loops of requests for `seconds` against a running proxy; the CPU of each side measured around it. */
export async function proxyCase(
  proxy: ProxyHandle,
  redis: Redis,
  size: number,
  batched: boolean,
  seconds: number,
): Promise<ProxyResult> {
  const { path, body, contentType } = requestOf(size, batched);
  const perRequest = batched ? NDJSON_LINES : 1;
  const cpu0 = { proxy: cpuSecondsOf(proxy.pid), client: ownCpuSeconds(), redis: await redisCpuSeconds(redis) };
  const t0 = performance.now();
  const rate = await timedLoops(seconds, CONNECTIONS, async () => {
    const res = await proxy.pool.request({ path, method: 'POST', body, headers: { 'content-type': contentType } });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
    proxy.acknowledged += perRequest;
  });
  const wall = (performance.now() - t0) / 1000;
  const requests = rate * wall;
  const used = {
    proxy: cpuSecondsOf(proxy.pid) - cpu0.proxy,
    client: ownCpuSeconds() - cpu0.client,
    redis: (await redisCpuSeconds(redis)) - cpu0.redis,
  };
  return {
    messagesPerSecond: rate * perRequest,
    requestsPerSecond: rate,
    meanLatencyMs: (CONNECTIONS / rate) * 1000,
    proxyCpuUsPerRequest: (used.proxy / requests) * 1e6,
    clientCpuUsPerRequest: (used.client / requests) * 1e6,
    redisCpuUsPerRequest: (used.redis / requests) * 1e6,
    proxyCores: used.proxy / wall,
    clientCores: used.client / wall,
  };
}
