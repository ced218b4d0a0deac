/**
 * Counting what reached the broker against what was acknowledged. Every body is `<prefix>-<n>`, so
 * each stored record names its message exactly.
 */

/** What the senders know about each message number. */
export interface Sent {
  /** Body prefix of the run. */
  readonly prefix: string;
  /** Numbers whose send was acknowledged (a 200, a resolved `send`). */
  readonly acked: ReadonlySet<number>;
  /**
   * Numbers whose outcome is unknown: in flight in a process that was killed, never retried (the
   * in-process run, where the sender died with the outbox). Each may be stored once, or not at all.
   */
  readonly unknown: ReadonlySet<number>;
}

/** The counts a chaos test prints and asserts. */
export interface DeliveryCounts {
  /** Records read from the broker. */
  readonly records: number;
  readonly acked: number;
  /** Acknowledged messages found once or more. */
  readonly ackedDelivered: number;
  /** Acknowledged messages not found: must be 0. */
  readonly missing: number;
  /** Messages (acknowledged or unknown) found more than once, and the extra copies. */
  readonly duplicated: number;
  readonly extraCopies: number;
  readonly unknown: number;
  readonly unknownDelivered: number;
  /** Records that are neither acknowledged nor unknown messages of the run: must be 0. */
  readonly strangers: number;
  /** A few examples of each problem, for the failure message. */
  readonly examples: { missing: number[]; duplicated: number[]; strangers: string[] };
}

const EXAMPLES = 10;

/** Counts `bodies` (everything read from the broker) against `sent`. */
export function countDelivery(bodies: Iterable<string>, sent: Sent): DeliveryCounts {
  const copies = new Map<number, number>();
  const strangers: string[] = [];
  let records = 0;
  let strangerCount = 0;
  const head = `${sent.prefix}-`;
  for (const body of bodies) {
    records++;
    const n = body.startsWith(head) ? Number(body.slice(head.length)) : Number.NaN;
    if (!Number.isInteger(n) || (!sent.acked.has(n) && !sent.unknown.has(n))) {
      strangerCount++;
      if (strangers.length < EXAMPLES) strangers.push(body);
      continue;
    }
    copies.set(n, (copies.get(n) ?? 0) + 1);
  }
  const missing: number[] = [];
  let ackedDelivered = 0;
  for (const n of sent.acked) {
    if (copies.has(n)) ackedDelivered++;
    else missing.push(n);
  }
  let unknownDelivered = 0;
  for (const n of sent.unknown) if (copies.has(n)) unknownDelivered++;
  const duplicated: number[] = [];
  let extraCopies = 0;
  for (const [n, c] of copies) {
    if (c < 2) continue;
    duplicated.push(n);
    extraCopies += c - 1;
  }
  return {
    records,
    acked: sent.acked.size,
    ackedDelivered,
    missing: missing.length,
    duplicated: duplicated.length,
    extraCopies,
    unknown: sent.unknown.size,
    unknownDelivered,
    strangers: strangerCount,
    examples: {
      missing: missing.sort((a, b) => a - b).slice(0, EXAMPLES),
      duplicated: duplicated.sort((a, b) => a - b).slice(0, EXAMPLES),
      strangers,
    },
  };
}

/** The counts as one line for the test's output. */
export function formatCounts(label: string, c: DeliveryCounts): string {
  return (
    `${label}: records ${c.records}, acknowledged ${c.acked}, delivered ${c.ackedDelivered}, missing ${c.missing}, ` +
    `duplicated ${c.duplicated} (+${c.extraCopies} copies), unknown ${c.unknown} (delivered ${c.unknownDelivered}), ` +
    `strangers ${c.strangers}`
  );
}

/**
 * Checks that `bodies` (a Redis list, in list order) are in the order of their ids' sequence
 * numbers: an outbox never lets a lower id reach its sink after a higher one. Returns the first
 * place where it does not hold, or undefined.
 */
export function firstOutOfOrder(
  bodies: readonly string[],
  prefix: string,
  seqOf: (n: number) => number | undefined,
): { index: number; body: string; seq: number; previousSeq: number } | undefined {
  let previousSeq = -1;
  const head = `${prefix}-`;
  for (let index = 0; index < bodies.length; index++) {
    const body = bodies[index] as string;
    const seq = seqOf(Number(body.slice(head.length)));
    if (seq === undefined) continue;
    if (seq <= previousSeq) return { index, body, seq, previousSeq };
    previousSeq = seq;
  }
  return undefined;
}
