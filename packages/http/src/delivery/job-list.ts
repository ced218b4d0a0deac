import type { DeliveryJob } from './delivery-job.js';

/**
 * The engine's unfinished jobs, threaded through the jobs themselves (`prevOpen`/`nextOpen`): adding and
 * removing allocate nothing. Walked only on rare events (a 410, close).
 */
export class JobList {
  #head: DeliveryJob | undefined;
  /** Jobs in the list. */
  size = 0;

  add(job: DeliveryJob): void {
    const head = this.#head;
    job.nextOpen = head;
    if (head !== undefined) head.prevOpen = job;
    this.#head = job;
    this.size++;
  }

  /** Removes `job`; nothing when it is not in the list. */
  remove(job: DeliveryJob): void {
    const { prevOpen, nextOpen } = job;
    if (prevOpen !== undefined) prevOpen.nextOpen = nextOpen;
    else if (this.#head === job) this.#head = nextOpen;
    else return;
    if (nextOpen !== undefined) nextOpen.prevOpen = prevOpen;
    job.prevOpen = undefined;
    job.nextOpen = undefined;
    this.size--;
  }

  /** Calls `fn` on each job; `fn` may remove the job it is given. */
  forEach(fn: (job: DeliveryJob) => void): void {
    for (let job = this.#head; job !== undefined; ) {
      const next = job.nextOpen;
      fn(job);
      job = next;
    }
  }
}
