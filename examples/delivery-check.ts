/**
 * Counts what arrived of messages 0..total-1 by id: distinct ids, duplicates and missing apart.
 * Counting deliveries instead stops early when redeliveries make up the number, and then cannot tell
 * a message not yet delivered from a lost one.
 */
export class DeliveryCheck {
  readonly #seen: Uint8Array;
  #distinct = 0;
  #deliveries = 0;
  #duplicates = 0;
  #unexpected = 0;
  #allSeen!: () => void;
  readonly #all = new Promise<void>((resolve) => {
    this.#allSeen = resolve;
  });

  constructor(readonly total: number) {
    this.#seen = new Uint8Array(total);
    if (total === 0) this.#allSeen();
  }

  /** One delivery of message `id`. */
  arrived(id: number): void {
    this.#deliveries++;
    if (!Number.isInteger(id) || id < 0 || id >= this.total) {
      this.#unexpected++;
      return;
    }
    if (this.#seen[id] === 1) {
      this.#duplicates++;
      return;
    }
    this.#seen[id] = 1;
    if (++this.#distinct === this.total) this.#allSeen();
  }

  /** Ids seen at least once. */
  get distinct(): number {
    return this.#distinct;
  }
  /** Every delivery, duplicates included. */
  get deliveries(): number {
    return this.#deliveries;
  }
  /** Deliveries of an id already seen. */
  get duplicates(): number {
    return this.#duplicates;
  }
  /** Deliveries of something that is not an id of this run. */
  get unexpected(): number {
    return this.#unexpected;
  }
  /** Ids not seen (yet). */
  get missing(): number {
    return this.total - this.#distinct;
  }

  /** The first `limit` ids not seen, for a report. */
  missingIds(limit = 10): number[] {
    const out: number[] = [];
    for (let id = 0; id < this.total && out.length < limit; id++) if (this.#seen[id] !== 1) out.push(id);
    return out;
  }

  /** Resolves `true` once every id was seen, or `false` when `timeoutMs` passes first. */
  async allSeen(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([this.#all.then(() => true as const), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** `distinct 20,000 of 20,000, missing 0, duplicates 0` (with the first missing ids, if any). */
  summary(): string {
    const n = (x: number): string => x.toLocaleString('en-US');
    const missing = this.missing;
    const ids = missing === 0 ? '' : ` (first: ${this.missingIds().join(', ')})`;
    const unexpected = this.#unexpected === 0 ? '' : `, unexpected ${n(this.#unexpected)}`;
    return `distinct ${n(this.#distinct)} of ${n(this.total)}, missing ${n(missing)}${ids}, duplicates ${n(this.#duplicates)}${unexpected}`;
  }
}
