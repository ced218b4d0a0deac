import { InvalidOptionError } from '@q/core';

/**
 * A group held by a tail cache, as the budget sees it: a ticket of its own, never the group's buffer, so
 * what the budget still lists after a cache let the group go keeps no memory alive.
 */
export interface BudgetedGroup {
  /** Bytes it holds. */
  readonly bytes: number;
  /** Still held by its cache (false once evicted or cleared). */
  held: boolean;
}

/** A tail cache sharing a budget: asked to give up its oldest group. */
export interface BudgetedCache {
  /** Gives up `group`, which is its oldest held group. */
  evictOldest(group: BudgetedGroup): void;
}

/** Internal hooks into a budget's private state: not on the class, so a subclass cannot change them. */
export interface BudgetHooks {
  /** Whether `value` is a real {@link TailCacheBudget}. */
  is(value: unknown): value is TailCacheBudget;
  /** The limit as constructed (not the getter, which a subclass could change). */
  limit(budget: TailCacheBudget): number;
  /** `cache` now holds `group` (its newest). */
  added(budget: TailCacheBudget, cache: BudgetedCache, group: BudgetedGroup): void;
  /** A cache let go of `groups` groups of `bytes` bytes together (it set their `held` to false). */
  released(budget: TailCacheBudget, bytes: number, groups: number): void;
  /** Evicts the oldest groups of all sharing caches until they hold at most the limit. */
  makeRoom(budget: TailCacheBudget): void;
}

/** Set once by {@link TailCacheBudget}'s static block. */
export let budgetHooks: BudgetHooks;

/** Dead entries of the add order, beyond as many as there are held groups, before it is rebuilt. */
const COMPACT_AFTER = 1024;

/**
 * Memory shared by the tail caches of several logs (see `tailCacheBytes` in `LogOptions`): a process with
 * many logs (one per topic, say) holds at most `limitBytes` of cached groups in all, whatever each log's
 * own cap. Pass the same budget to every log that should share it.
 *
 * Past the limit, the oldest groups of all sharing logs go first, in the order they were added, whichever
 * log holds them: a log that went quiet gives its room to the busy ones. A reader whose groups were
 * evicted reads from disk: slower, never different.
 *
 * @example
 * ```ts
 * const budget = new TailCacheBudget(64 * 1024 * 1024);
 * const a = await openLog({ dir: 'data/a', tailCacheBudget: budget });
 * const b = await openLog({ dir: 'data/b', tailCacheBudget: budget });
 * ```
 */
export class TailCacheBudget {
  readonly #limit: number;
  #used = 0;
  /** Held groups, counted so stale entries of {@link TailCacheBudget.#order} can be dropped. */
  #live = 0;
  /** Every group added, oldest first, from `#head` on; entries of groups no longer held are skipped. */
  #order: ({ readonly cache: BudgetedCache; readonly group: BudgetedGroup } | undefined)[] = [];
  #head = 0;

  /** @param limitBytes bytes of cached groups, all logs together (an integer >= 0; 0 turns caching off). */
  constructor(limitBytes: number) {
    if (typeof limitBytes !== 'number' || !Number.isSafeInteger(limitBytes) || limitBytes < 0)
      throw new InvalidOptionError('limitBytes', limitBytes, 'an integer >= 0');
    this.#limit = limitBytes;
  }

  /** Bytes of cached groups all logs sharing this budget hold together, at most. */
  get limitBytes(): number {
    return this.#limit;
  }

  /** Bytes the sharing logs' caches hold now. */
  get usedBytes(): number {
    return this.#used;
  }

  static {
    budgetHooks = {
      is: (value: unknown): value is TailCacheBudget => typeof value === 'object' && value !== null && #used in value,
      limit: (budget) => budget.#limit,
      added(budget, cache, group) {
        budget.#used += group.bytes;
        budget.#live++;
        budget.#order.push({ cache, group });
      },
      released(budget, bytes, groups) {
        budget.#used -= bytes;
        budget.#live -= groups;
        // Nothing held: every listed entry is stale.
        if (budget.#live === 0) {
          budget.#order = [];
          budget.#head = 0;
        }
      },
      makeRoom(budget) {
        const order = budget.#order;
        while (budget.#used > budget.#limit && budget.#head < order.length) {
          const entry = order[budget.#head];
          order[budget.#head++] = undefined;
          if (entry?.group.held) entry.cache.evictOldest(entry.group);
        }
        // Every held group has one entry past the head, so the rest are dead: the slots already taken and
        // the entries of groups their caches let go themselves (their own cap, a reader falling behind,
        // close). Once they outnumber the held ones (by the slack), the order is rebuilt from the held.
        if (order.length > 2 * budget.#live + COMPACT_AFTER) {
          budget.#order = order.slice(budget.#head).filter((e) => e?.group.held === true);
          budget.#head = 0;
        }
      },
    };
  }
}
