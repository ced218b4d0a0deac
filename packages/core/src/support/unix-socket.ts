import { promises as fsp } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';

/**
 * Listens on the unix socket `path`, replacing a socket file no process listens on any more (left
 * by one that was killed).
 * @throws (code EADDRINUSE) when a live process listens there, (code EEXIST) when `path` is not a socket
 */
export async function listenOnSocket(server: Server, path: string): Promise<void> {
  await removeStaleSocket(path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function removeStaleSocket(path: string): Promise<void> {
  const stat = await fsp.lstat(path).catch(() => undefined);
  if (stat === undefined) return;
  if (!stat.isSocket()) throw Object.assign(new Error(`${path} exists and is not a socket`), { code: 'EEXIST' });
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw Object.assign(new Error(`a live process listens on ${path}`), { code: 'EADDRINUSE' });
  await fsp.unlink(path);
}
