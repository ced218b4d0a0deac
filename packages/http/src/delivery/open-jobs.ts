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

  /**
   * Takes the job of `item` out when it only waits for time (see `DeliveryEngine.withdraw`): its `deliver()`
   * promise rejects with `WithdrawnError`. Returns its endpoint (to be forgotten when idle) and what the next
   * hand-over needs; `undefined`, changing nothing, otherwise.
   */
  withdraw(item: DeliveryItem): { endpoint: Endpoint; withdrawn: Withdrawn } | undefined {
    const job = this.#waitingForTime(item);
    const endpoint = job?.endpoint;
    if (job === undefined || endpoint === undefined) return undefined;
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
   * endpoint's open circuit. A keyed one holds its key's order and is never taken out.
   */
  #waitingForTime(item: DeliveryItem): DeliveryJob | undefined {
    const job = this.#byItem.get(item);
    if (job === undefined || job.endpoint === undefined || item.key !== undefined) return undefined;
    const waits = job.state === 'scheduled' || (job.state === 'ready' && job.endpoint.circuit.state === 'open');
    return waits ? job : undefined;
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
