/**
 * go-zero's queue `Listener`: told when the whole queue pauses (the last active producer paused)
 * and resumes (the first producer is back). Use it to deregister from service discovery while the
 * source is down. It is a notification only: loops keep running.
 */
export interface Listener {
  onPause(): void;
  onResume(): void;
}
