import type { Pusher } from '../pushers/pusher.js';

/** go-zero's `generateName`: the pushers' names joined with ","; "" when there are none. */
export function generateName(pushers: readonly Pusher<never>[]): string {
  return pushers.map((p) => p.name()).join(',');
}
