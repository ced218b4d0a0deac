/**
 * `q-http serve` as a child process: started through the package's launcher (bin/q-http.js) on the
 * workspace sources, its address read from the first line of stdout. The same shape as
 * packages/outbox/test/server-support/proxy-process.ts for q-outbox.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The package's launcher. */
export const BIN = fileURLToPath(new URL('../../bin/q-http.js', import.meta.url));
/** Node flags that make the launcher run the TypeScript sources. */
const NODE_ARGS = ['--conditions=@q/source', BIN];

/** A running `q-http serve`. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The TCP base URL from the first stdout line, such as `http://127.0.0.1:40123`. */
  readonly http: string;
  /** Everything the process wrote to stderr so far (its JSON log lines). */
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal) once the process exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILLs after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

/**
 * Starts `q-http serve <args>` and waits for its "listening ..." line.
 * @throws when the process exits first or says nothing within `timeoutMs` (its stderr in the message)
 */
export async function startServe(args: readonly string[], timeoutMs = 30_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, [...NODE_ARGS, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const first = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`q-http serve printed no address within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const end = out.indexOf('\n');
      if (end === -1) return;
      clearTimeout(timer);
      resolve(out.slice(0, end));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`q-http serve exited (${code}) before listening; stderr:\n${stderr}`));
    });
  });
  const match = /^listening (http:\/\/\S+)(?: unix:(.+))?$/.exec(first);
  if (match === null) {
    child.kill('SIGKILL');
    throw new Error(`unexpected first line: ${first}`);
  }
  return {
    child,
    pid: child.pid as number,
    http: match[1] as string,
    stderr: () => stderr,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', stopTimeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(killer);
      }
    },
  };
}

/** Runs `q-http <args>` to its end (for usage errors): exit code, stdout and stderr. */
export function runCli(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...NODE_ARGS, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
