import type { PartitionLog } from './partition-log.js';

/** A partition: its leader broker and its log. */
export interface Partition {
  readonly topic: string;
  readonly index: number;
  leader: number;
  readonly log: PartitionLog;
}
