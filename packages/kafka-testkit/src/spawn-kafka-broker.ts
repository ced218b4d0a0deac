import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A test broker running as its own process (the `q-kafka-testkit` command). */
export interface SpawnedKafkaBroker {
  /** `host:port` of every broker, for the client's `brokers` option. */
  readonly bootstrap: string[];
  /** The broker process's id (for CPU accounting, or to stop it with SIGSTOP and SIGCONT). */
  readonly pid: number;
  /** The port of the first broker: pass it as `port` to start again where clients look. */
  readonly port: number;
  /**
   * Kills the process with SIGKILL, as a crash would (no flush, no goodbye to clients), and waits
   * for it to exit. With `dataDir`, everything it acknowledged is there for the next start.
   * Idempotent; `stop()` after it does nothing.
   */
  kill(): Promise<void>;
  /**
   * Stops the process (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. Idempotent. Also
   * what an abort of the `signal` does.
   */
  stop(): Promise<void>;
  /** Same as `stop()`; for `await using broker = await spawnKafkaBroker()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options of {@link spawnKafkaBroker}: the command's flags. */
export interface SpawnKafkaBrokerOptions {
  /** @default 1 */
  brokers?: number;
  /** Port of the first broker, the others follow. @default 0 (free ports) */
  port?: number;
  /** Partitions of topics created by name or on first use. @default 1 */
  partitions?: number;
  /** Topics to create at start. */
  topics?: string[];
  /**
   * Keeps topics, records and committed offsets in this directory (the command's `--data-dir`): a
   * broker spawned again on it, with the same `port`, serves what the last one acknowledged, even
   * after `kill()`.
   * @default none (memory only)
   */
  dataDir?: string;
  /** With `dataDir`, syncs to the disk before answering (`--fsync`). @default false */
  fsync?: boolean;
  /** How long the process may take to print its address. @default 30000 */
  startTimeoutMs?: number;
  /**
   * Aborted before the process printed its address: it is killed and the promise rejects with the
   * signal's reason. Aborted later: the broker stops, as `stop()` does (which removes the listener).
   * @default none
   */
  signal?: AbortSignal;
}

const LAUNCHER = fileURLToPath(new URL('../bin/q-kafka-testkit.js', import.meta.url));

/**
 * Starts the test broker in a child process, so that a busy event loop in this process (a consumer
 * handling a backlog, a producer encoding a large batch) cannot delay the broker's group coordinator:
 * in-process, its session timers fire before it reads the heartbeats waiting on its sockets. The
 * child runs the same sources as this process: `--conditions` flags are passed on.
 *
 * ```ts
 * const broker = await spawnKafkaBroker({ partitions: 8, topics: ['orders'] });
 * const kafka = new Kafka({ brokers: broker.bootstrap });
 * // ...
 * await broker.stop();
 * ```
 *
 * @throws {Error} when the process exits or stays silent before printing its address; the message
 *   carries what it wrote to stderr.
 * @throws {TypeError} when `signal` is not an AbortSignal.
 */
export async function spawnKafkaBroker(options: SpawnKafkaBrokerOptions = {}): Promise<SpawnedKafkaBroker> {
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new TypeError('Invalid option "signal": expected an AbortSignal');
  signal?.throwIfAborted();
  const args = [
    ...conditionFlags(process.execArgv),
    LAUNCHER,
    '--brokers',
    String(options.brokers ?? 1),
    '--port',
    String(options.port ?? 0),
    '--partitions',
    String(options.partitions ?? 1),
    ...(options.topics ?? []).flatMap((t) => ['--topic', t]),
    ...(options.dataDir !== undefined ? ['--data-dir', options.dataDir] : []),
    ...(options.fsync === true ? ['--fsync'] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A parent that ends without stop() must not leave a broker behind.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
    process.stderr.write(d);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  let abortStart: (() => void) | undefined;
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const end = out.indexOf('\n');
        if (end >= 0) resolve(out.slice(0, end).trim());
      });
      void exited.then(() => reject(new Error(`q-kafka-testkit exited before it was ready: ${stderr.trim()}`)));
      timer = setTimeout(
        () => reject(new Error(`q-kafka-testkit printed no address within ${timeoutMs} ms: ${stderr.trim()}`)),
        timeoutMs,
      );
      abortStart = () => reject(signal?.reason);
      signal?.addEventListener('abort', abortStart, { once: true });
    });
    let stopping: Promise<void> | undefined;
    const end = (how: 'SIGTERM' | 'SIGKILL'): Promise<void> => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill(how);
          const force = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(force);
        }
        process.removeListener('exit', killOnExit);
      })();
      signal?.removeEventListener('abort', onAbort);
      return stopping;
    };
    const stop = (): Promise<void> => end('SIGTERM');
    const onAbort = (): void => void stop();
    // Aborted as the address came in: the caller no longer wants the broker.
    if (signal?.aborted) {
      await stop();
      throw signal.reason;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    const bootstrap = line.split(',');
    return {
      bootstrap,
      pid: child.pid as number,
      port: Number(bootstrap[0]?.slice(bootstrap[0].lastIndexOf(':') + 1)),
      stop,
      kill: () => end('SIGKILL'),
      [Symbol.asyncDispose]: stop,
    };
  } catch (error) {
    child.kill('SIGKILL');
    process.removeListener('exit', killOnExit);
    // Gone before the promise settles, so an aborted start leaves no process behind (bounded: a
    // process that never started emits no exit).
    let wait: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((resolve) => (wait = setTimeout(resolve, 5000)))]);
    clearTimeout(wait);
    throw error;
  } finally {
    clearTimeout(timer);
    if (abortStart !== undefined) signal?.removeEventListener('abort', abortStart);
  }
}

/** The `--conditions` / `-C` flags among Node's arguments, in either form (`--conditions=x`, `--conditions x`). */
function conditionFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i] as string;
    if (a === '--conditions' || a === '-C') out.push(a, execArgv[++i] ?? '');
    else if (a.startsWith('--conditions=') || (a.startsWith('-C') && a.length > 2)) out.push(a);
  }
  return out;
}
