import type { PartitionLog } from './partition-log.js';

/** A partition: its leader broker and its log. */
export interface Partition {
  /** The topic it belongs to. */
  readonly topic: string;
  /** Its number within the topic. */
  readonly index: number;
  /** The id of the broker that leads it (it moves when that broker stops). */
  leader: number;
  /** Its records. */
  readonly log: PartitionLog;
}
