/** Checks that messages 0..total-1 each arrive exactly once. */
export class DeliveryCheck {
  readonly #seen: Uint8Array;
  received = 0;
  duplicates = 0;
  /** Resolves once `total` deliveries arrived. */
  readonly allIn: Promise<void>;
  #resolve!: () => void;

  constructor(readonly total: number) {
    this.#seen = new Uint8Array(total);
    this.allIn = new Promise<void>((resolve) => {
      this.#resolve = resolve;
    });
  }

  arrived(id: number): void {
    if (this.#seen[id] === 1) this.duplicates++;
    this.#seen[id] = 1;
    if (++this.received === this.total) this.#resolve();
  }

  /** Ids that never arrived. */
  missing(): number {
    let missing = 0;
    for (let id = 0; id < this.total; id++) if (this.#seen[id] !== 1) missing++;
    return missing;
  }
}
