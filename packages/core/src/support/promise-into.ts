/** What a promise made by {@link promiseInto} settles through: its resolve and reject, set on it. */
export interface Settles<T> {
  resolve: (value: T) => void;
  reject: (err: unknown) => void;
}

/*
 * One executor for every such promise, handing resolve and reject to the holder being filled: a closure
 * per promise was a measurable part of an append's (and a send's) cost with hundreds of callers.
 */
let filling: Settles<unknown> | undefined;
function fill(resolve: (value: unknown) => void, reject: (err: unknown) => void): void {
  const holder = filling as Settles<unknown>;
  holder.resolve = resolve;
  holder.reject = reject;
}

/**
 * A new promise whose `resolve` and `reject` are set on `holder`, without a closure per promise. The
 * holder being filled is saved and put back, not cleared: an async_hooks `init` hook (a tracer's) runs
 * before the executor, and a promise it makes this way in between fills its own holder.
 */
export function promiseInto<T>(holder: Settles<T>): Promise<T> {
  const outer = filling;
  filling = holder as Settles<unknown>;
  try {
    return new Promise<T>(fill as (resolve: (value: T) => void, reject: (err: unknown) => void) => void);
  } finally {
    filling = outer;
  }
}
