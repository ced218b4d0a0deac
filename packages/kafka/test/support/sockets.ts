import type { Socket } from 'node:net';

/**
 * Open client sockets of this process to a broker listening on `port`: what a stopped queue or a
 * closed pusher must leave at zero. Node has no public list of handles; `_getActiveHandles` is the
 * one the review scripts used, and a socket that lingers here keeps the process alive.
 */
export function clientSockets(port: number): number {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h) => {
    const s = h as Socket;
    return s?.constructor?.name === 'Socket' && s.remotePort === port && !s.destroyed;
  }).length;
}

/** The port of the first `host:port` of a bootstrap list. */
export function portOf(bootstrap: readonly string[]): number {
  return Number((bootstrap[0] as string).split(':')[1]);
}
