import type { Cluster, Redis } from 'ioredis';
import {
  BatchTask,
  bodyOf,
  CappedEntry,
  type Item,
  type ListWriter,
  type Task,
  type WriteCounters,
} from './list-writer.js';
import { withScripts } from './scripts.js';
import { withoutBodies } from './without-bodies.js';

/** Where and how a {@link cappedWriter} writes. */
export interface CappedList {
  readonly key: string;
  readonly maxLength: number;
  readonly overflow: 'drop-head' | 'reject-publish';
  /** Drop-head: the list trimmed messages go to. */
  readonly deadLetterKey: string | undefined;
}

/**
 * A writer for a list of at most `maxLength` messages, through `lua/push-capped-2.lua` (one atomic
 * call per chunk). Drop-head pushes bodies and the script trims; reject-publish sends each task as a
 * unit (a push: one message, a `pushBatch`: all of it) and marks the tasks the script refused, for
 * their pushes to reject; `onRejected` hears of them with their bodies (a `push` already resolved).
 */
export function cappedWriter(
  redis: Redis | Cluster,
  list: CappedList,
  counters: WriteCounters,
  onRejected: (bodies: (string | Buffer)[]) => void,
): ListWriter {
  const scripted = withScripts(redis);
  const dropHead = list.overflow === 'drop-head';
  const head = [list.maxLength, list.overflow, list.deadLetterKey === undefined ? '0' : '1'];
  const deadLetter = list.deadLetterKey ?? list.key;
  const call = async (args: (string | Buffer | number)[]): Promise<number[]> => {
    try {
      return (await scripted.qPushCapped(list.key, deadLetter, args)).map(Number);
    } catch (error) {
      throw withoutBodies(error);
    }
  };
  return {
    item: dropHead ? bodyOf : (message) => new CappedEntry(bodyOf(message)),
    async write(tasks) {
      const args: (string | Buffer | number)[] = [...head];
      if (dropHead) {
        for (const task of tasks) {
          if (task instanceof BatchTask) for (const item of task.items) args.push(item as string | Buffer);
          else args.push(task as string | Buffer);
        }
        if (args.length === head.length) return;
        const [pushed = 0, dropped = 0] = await call(args);
        counters.written += pushed;
        counters.dropped += dropped;
        return;
      }
      for (const task of tasks) {
        if (task instanceof BatchTask) {
          args.push(task.items.length);
          for (const item of task.items) args.push((item as CappedEntry).body);
        } else {
          args.push(1, (task as CappedEntry).body);
        }
      }
      if (args.length === head.length) return;
      const [pushed = 0, ...refused] = await call(args);
      counters.written += pushed;
      if (refused.length === 0) return;
      const bodies: (string | Buffer)[] = [];
      for (const unit of refused) reject(tasks[unit] as Task, bodies);
      counters.rejected += bodies.length;
      onRejected(bodies);
    },
  };
}

function reject(task: Task, bodies: (string | Buffer)[]): void {
  if (task instanceof BatchTask) {
    task.rejected = true;
    for (const item of task.items) bodies.push((item as CappedEntry).body);
    return;
  }
  const entry = task as Item as CappedEntry;
  entry.rejected = true;
  bodies.push(entry.body);
}
