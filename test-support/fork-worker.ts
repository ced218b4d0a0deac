import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Starts a TypeScript worker in its own process (the tsx loader, the workspace's sources) with an
 * IPC channel, and resolves once it sends its first message ("ready").
 */
export function forkWorker(file: string, args: string[]): Promise<ChildProcess> {
  const child = fork(file, args, {
    cwd: root,
    execArgv: ['--conditions=@q/source', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`worker exited before it was ready: ${code}`)));
  });
}
