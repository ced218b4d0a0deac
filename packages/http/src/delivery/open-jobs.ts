import type { DeliveryJob, JobState } from './delivery-job.js';
import type { Endpoint } from './endpoint.js';
import { DeliveryClosedError, WithdrawnError } from './errors.js';
import { JobList } from './job-list.js';
import type { DeliveryItem, Withdrawn } from './types.js';

/**
 * The one rejection of every withdrawn `deliver()`: the caller asked for it and ignores it, and a stack trace
 * per parked record cost more than parking it.
 */
const WITHDRAWN = new WithdrawnError();

/**
 * The engine's unfinished jobs, found by their item for `withdraw()`, and the ways a job leaves them other
 * than by finishing: withdrawn (the caller takes its item back) or abandoned (the engine closed). Taking a
 * waiting job out of its endpoint's schedule lives here too, so a withdrawal and a 410 keep the endpoint's
 * counts the same way.
 */
export class OpenJobs {
  readonly #list = new JobList();
  /** A Map, not a WeakMap: every job leaves through `remove`, and a WeakMap of thousands of items costs the GC. */
  readonly #byItem = new Map<DeliveryItem, DeliveryJob>();

  /** Unfinished jobs. */
  get size(): number {
    return this.#list.size;
  }

  add(job: DeliveryJob): void {
    this.#list.add(job);
    this.#byItem.set(job.item, job);
  }

  /** `job` finished (or left): marked done and forgotten. */
  remove(job: DeliveryJob): void {
    job.state = 'done';
    this.#list.remove(job);
    this.#byItem.delete(job.item);
  }

  /** Calls `fn` on each unfinished job; `fn` may remove the job it is given. */
  forEach(fn: (job: DeliveryJob) => void): void {
    this.#list.forEach(fn);
  }

  /** Takes every job waiting for its retry time at `endpoint` out of the schedule, and hands it to `fn` (a 410). */
  unscheduleAll(endpoint: Endpoint, fn: (job: DeliveryJob) => void): void {
    this.#list.forEach((job) => {
      if (job.endpoint !== endpoint || job.state !== 'scheduled') return;
      this.#unschedule(job, endpoint);
      fn(job);
    });
  }

  /** A `scheduled` job leaves its endpoint's schedule: its timer cleared, the endpoint's count updated. */
  #unschedule(job: DeliveryJob, endpoint: Endpoint): void {
    clearTimeout(job.timer);
    job.timer = undefined;
    endpoint.scheduled--;
  }

  /** Whether {@link OpenJobs.withdraw} may take `item` now (changes nothing; cheap, for a scan). */
  withdrawable(item: DeliveryItem): boolean {
    return this.#waitingForTime(item) !== undefined;
  }

  /** Whether `item` is being sent or about to be: in flight, its dead letter being written, or ready for room. */
  sending(item: DeliveryItem): boolean {
    const job = this.#byItem.get(item);
    if (job === undefined) return false;
    return job.state === 'in-flight' || job.state === 'dead-lettering' || (job.state === 'ready' && !waitsForTime(job));
  }

  /**
   * Takes the job of `item` out when it only waits for time (see `DeliveryEngine.withdraw`): its `deliver()`
   * promise rejects with `WithdrawnError`. Returns its endpoint (to be forgotten when idle) and what the next
   * hand-over needs; `undefined`, changing nothing, otherwise.
   */
  withdraw(item: DeliveryItem): { endpoint: Endpoint; withdrawn: Withdrawn } | undefined {
    const job = this.#waitingForTime(item);
    return job === undefined ? undefined : this.#take(job, job.endpoint as Endpoint);
  }

  /**
   * Takes out keyed `item` when it heads its key and only waits for time, with every job queued behind it
   * (they wait for it), when `accept` takes each; changes nothing otherwise. The followers' `deliver()`
   * promises reject too, and each comes back with the head's `nextAttemptAt`: none may go before it. The
   * caller drops the key's line from its `KeyOrder`.
   */
  withdrawChain(
    item: DeliveryItem,
    accept: (item: DeliveryItem) => boolean,
  ): { endpoint: Endpoint; chain: Array<{ item: DeliveryItem; withdrawn: Withdrawn }> } | undefined {
    const head = this.#byItem.get(item);
    if (head === undefined || item.key === undefined || !waitsForTime(head)) return undefined;
    const jobs: DeliveryJob[] = [];
    for (let job: DeliveryJob | undefined = head; job !== undefined; job = job.nextOfKey) {
      if (!accept(job.item)) return undefined;
      jobs.push(job);
    }
    const taken = this.#take(head, head.endpoint as Endpoint);
    if (taken === undefined) return undefined;
    const chain = [{ item, withdrawn: taken.withdrawn }];
    const { nextAttemptAt } = taken.withdrawn;
    for (let i = 1; i < jobs.length; i++) {
      const job = jobs[i] as DeliveryJob;
      job.nextOfKey = undefined;
      this.remove(job);
      job.reject(WITHDRAWN);
      chain.push({
        item: job.item,
        withdrawn: { attempts: job.attempts, nextAttemptAt, cause: 'waiting for its key' },
      });
    }
    head.nextOfKey = undefined;
    return { endpoint: taken.endpoint, chain };
  }

  /** Takes `job`, which waits for time at `endpoint`, out: unscheduled or out of the ready queue, rejected. */
  #take(job: DeliveryJob, endpoint: Endpoint): { endpoint: Endpoint; withdrawn: Withdrawn } | undefined {
    let nextAttemptAt: number;
    if (job.state === 'scheduled') {
      this.#unschedule(job, endpoint);
      nextAttemptAt = job.dueAt;
    } else if (endpoint.remove(job)) {
      // Behind an open circuit it waits for time as much as for a retry timer; it comes back when a probe may go.
      nextAttemptAt = Math.max(job.dueAt, endpoint.circuit.openUntil);
    } else return undefined;
    this.remove(job);
    job.reject(WITHDRAWN);
    const { attempts, cause, status } = job;
    return { endpoint, withdrawn: { attempts, nextAttemptAt, cause, status } };
  }

  /**
   * The job of keyless `item` when it only waits for time: for its retry timer, or ready behind its
   * endpoint's open circuit. A keyed one holds its key's order: only {@link OpenJobs.withdrawChain} takes it.
   */
  #waitingForTime(item: DeliveryItem): DeliveryJob | undefined {
    const job = this.#byItem.get(item);
    return job === undefined || item.key !== undefined || !waitsForTime(job) ? undefined : job;
  }

  /** Rejects an unfinished `job` with `err` (the engine closed): its timer cleared, its attempt aborted. */
  abandon(job: DeliveryJob, err: Error): void {
    clearTimeout(job.timer);
    job.timer = undefined;
    job.signal?.abort();
    this.remove(job);
    job.reject(err);
  }

  /** Abandons every unfinished job with `DeliveryClosedError` (the engine closed), but those in `spare`. */
  abandonAll(spare?: JobState): void {
    this.#list.forEach((job) => {
      if (job.state !== spare) this.abandon(job, new DeliveryClosedError());
    });
  }
}

/** Whether `job` only waits for time: for its retry timer, or ready behind its endpoint's open circuit. */
function waitsForTime(job: DeliveryJob): boolean {
  if (job.endpoint === undefined) return false;
  return job.state === 'scheduled' || (job.state === 'ready' && job.endpoint.circuit.state === 'open');
}
