/**
 * go-zero's queue `Listener`: told when the whole queue pauses (the last active producer paused)
 * and resumes (the first producer is back). Use it to deregister from service discovery while the
 * source is down. It is a notification only: loops keep running.
 */
export interface Listener {
  /** The last active producer paused: the queue has no source right now. */
  onPause(): void;
  /** The first producer is back after a pause. */
  onResume(): void;
}
