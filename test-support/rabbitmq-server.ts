import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireProgram } from '../scripts/lib/system-packages.mjs';
import { freePort } from './free-port.js';
import { delay } from './wait.js';

/** Debian's layout: the scripts that run a node as the calling user (not the root-to-rabbitmq wrapper). */
const BIN = '/usr/lib/rabbitmq/bin';

/** A private RabbitMQ node of our own: own name, loopback ports, data directory, cookie and epmd. */
export interface RabbitMqServer {
  /** The AMQP port on 127.0.0.1. */
  readonly port: number;
  /** `amqp://guest:guest@127.0.0.1:<port>` (guest may connect over loopback only, which is all we use). */
  readonly url: string;
  /** The node's own directory (data, logs, cookie). */
  readonly dir: string;
  /** The Erlang node name, for `rabbitmqctl -n`. */
  readonly nodename: string;
  /** Stops the node (SIGTERM, or SIGKILL with `{ kill: true }`) and waits for its exit. Data is kept. */
  stop(options?: { kill?: boolean }): Promise<void>;
  /** Starts it again on the same ports and directory (durable queues and persistent messages survive). */
  start(): Promise<void>;
  /** Freezes the node (SIGSTOP): connections stay open and nothing answers, as a hung broker. */
  pause(): void;
  /** Thaws a node frozen by {@link RabbitMqServer.pause}. */
  resume(): void;
  /** Runs `rabbitmqctl <args>` against this node and returns its stdout (throws on failure). */
  ctl(...args: string[]): string;
  /** Stops the node and its epmd, and removes its directory. */
  dispose(): Promise<void>;
}

/**
 * Starts a private RabbitMQ node, installing Debian's `rabbitmq-server` first when it is missing
 * and we are root (otherwise fails naming the package). Nothing is shared with a system node: the
 * node name, AMQP and distribution ports, epmd port, data directory, config and cookie are all its
 * own, so two test runs on one machine never meet, and a system node on 5672 is never touched.
 */
export async function startRabbitMq(): Promise<RabbitMqServer> {
  requireProgram('rabbitmq-server', 'rabbitmq-server');
  const port = await freePort();
  const distPort = await freePort();
  const epmdPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'q-rabbitmq-'));
  const nodename = `q-${randomBytes(4).toString('hex')}@localhost`;
  mkdirSync(join(dir, 'log'), { recursive: true });
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(join(dir, 'rabbitmq-env.conf'), '');
  // Small disk limit: a test machine's /tmp may be nearly full, and the default alarm (50 MB) blocks publishers.
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    ['log.console = false', 'log.file.level = warning', 'disk_free_limit.absolute = 1MB', ''].join('\n'),
  );
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: dir,
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    ERL_EPMD_PORT: String(epmdPort),
    ERL_EPMD_ADDRESS: '127.0.0.1',
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_FEATURE_FLAGS_FILE: join(dir, 'feature_flags'),
  };
  let child: ChildProcess | undefined;
  let stderr = '';

  const start = async (): Promise<void> => {
    stderr = '';
    const c = spawn(join(BIN, 'rabbitmq-server'), [], { env, stdio: ['ignore', 'ignore', 'pipe'], detached: false });
    c.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    child = c;
    await waitUntilReady(port, c, () => stderr, dir);
    for (let i = 0; i < 100 && vm() === undefined; i++) await delay(50);
    if (vm() === undefined) throw new Error(`rabbitmq-server wrote no pid file (${pidFile})`);
  };
  // The script we spawn runs the Erlang VM as its child and passes no signal on: signal the VM.
  const pidFile = join(dir, 'rabbitmq.pid');
  const vm = (): number | undefined => {
    try {
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const signalVm = (signal: NodeJS.Signals): void => {
    const pid = vm();
    if (pid === undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  };
  const stop = async (options: { kill?: boolean } = {}): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    signalVm('SIGCONT');
    signalVm(options.kill ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => {
      signalVm('SIGKILL');
      c.kill('SIGKILL');
    }, 15_000);
    await exited;
    clearTimeout(timer);
    rmSync(pidFile, { force: true });
  };
  const ctl = (...args: string[]): string => {
    const r = spawnSync(join(BIN, 'rabbitmqctl'), ['-q', '-n', nodename, ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`rabbitmqctl ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  try {
    await start();
  } catch (error) {
    await stop({ kill: true });
    stopEpmd(epmdPort, env);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    dir,
    nodename,
    stop,
    start,
    pause: () => signalVm('SIGSTOP'),
    resume: () => signalVm('SIGCONT'),
    ctl,
    async dispose() {
      await stop();
      stopEpmd(epmdPort, env);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Our node started its own epmd on its own port; it outlives the node, so end it here. */
function stopEpmd(epmdPort: number, env: NodeJS.ProcessEnv): void {
  spawnSync('epmd', ['-port', String(epmdPort), '-kill'], { env, stdio: 'ignore' });
}

/** The AMQP port accepts connections at the end of boot (4-7 s on 2 cores); poll a TCP connect. */
async function waitUntilReady(port: number, child: ChildProcess, stderr: () => string, dir: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `rabbitmq-server exited (${child.exitCode ?? child.signalCode}) before it was ready: ${stderr()}`,
      );
    }
    if (await accepts(port)) return;
    if (Date.now() > deadline)
      throw new Error(`rabbitmq-server on port ${port} not ready after 60 s (logs in ${dir}/log)`);
    await delay(100);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
