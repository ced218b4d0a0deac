import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireProgram } from '../../../../scripts/lib/system-packages.mjs';

import { freePort } from '../../../../test-support/free-port.js';

export { freePort };

/** A redis-server of our own on a loopback port, with its own directory. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** Stops it (SIGTERM, or SIGKILL with `{ kill: true }`) and waits for the exit. */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Starts it again on the same port and directory (data kept through AOF/RDB). */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--appendonly', 'yes', '--appendfsync', 'always']`. */
  args?: string[];
  port?: number;
}

/** Starts a redis-server, installing Debian's package first when missing (as root). */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = requireProgram('redis-server', 'redis-server');
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'q-redis-'));
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    child = spawn(
      bin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--daemonize',
        'no',
        '--protected-mode',
        'no',
        '--loglevel',
        'warning',
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await waitUntilReady(port, child);
  };
  const stop = async (opts: { kill?: boolean } = {}): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(opts.kill ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    start,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(port: number, child: ChildProcess): Promise<void> {
  const cli = requireProgram('redis-cli', 'redis-tools');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server on port ${port} exited with ${child.exitCode}`);
    const r = spawnSync(cli, ['-h', '127.0.0.1', '-p', String(port), 'PING'], { encoding: 'utf8' });
    if (r.stdout?.trim() === 'PONG') return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A Redis Cluster of `masters` nodes on loopback ports, no replicas. */
export interface RedisCluster {
  readonly nodes: { host: string; port: number }[];
  dispose(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  for (let i = 0; i < masters; i++) {
    servers.push(await startRedisServer({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] }));
  }
  const cli = requireProgram('redis-cli', 'redis-tools');
  const create = spawnSync(
    cli,
    ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'],
    { encoding: 'utf8' },
  );
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  // Wait until every node agrees the cluster is up.
  const deadline = Date.now() + 20_000;
  for (const s of servers) {
    for (;;) {
      const info = spawnSync(cli, ['-p', String(s.port), 'CLUSTER', 'INFO'], { encoding: 'utf8' }).stdout ?? '';
      if (info.includes('cluster_state:ok')) break;
      if (Date.now() > deadline) throw new Error('cluster did not reach state ok');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    async dispose() {
      await Promise.all(servers.map((s) => s.dispose()));
    },
  };
}
