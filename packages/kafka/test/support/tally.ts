/** Counts deliveries per message, for "everything consumed once" checks. */
export class Tally {
  readonly #counts = new Map<string, number>();
  add(id: string): void {
    this.#counts.set(id, (this.#counts.get(id) ?? 0) + 1);
  }
  /** Whether `id` was seen at least once. */
  has(id: string): boolean {
    return this.#counts.has(id);
  }
  /** Distinct messages seen. */
  get size(): number {
    return this.#counts.size;
  }
  /** Deliveries beyond the first, over all messages. */
  get duplicates(): number {
    let n = 0;
    for (const c of this.#counts.values()) n += c - 1;
    return n;
  }
}
