/**
 * The chaos test's HTTP clients: `senders` concurrent loops over one undici keep-alive Pool, each
 * taking the next message number and POSTing it to the proxy until it is answered 200. A request that
 * failed in any way (connection refused while the proxy is dead, a connection cut mid-flight, a 503)
 * has an unknown outcome, so it is sent again with the SAME Idempotency-Key: each logical message is
 * acknowledged exactly once, whatever happened to the earlier attempts.
 */
import { Pool } from 'undici';

/** Options of {@link sendOverHttp}. */
export interface HttpSendOptions {
  /** The proxy's origin, such as `http://127.0.0.1:40123` (the same across restarts). */
  readonly origin: string;
  /** Messages to send: numbers 0 to count - 1. */
  readonly count: number;
  /** Concurrent senders, and the Pool's connections. */
  readonly senders: number;
  /** A message's body and Idempotency-Key: `<prefix>-<n>`, unique in the run. */
  readonly prefix: string;
  /** Gives up (rejects) after this long. */
  readonly deadlineMs: number;
  /** Stops the senders early (they reject) when aborted. */
  readonly signal?: AbortSignal;
}

/** What the senders saw. */
export interface HttpSendReport {
  /** The id each message was acknowledged with, by message number. */
  readonly ids: string[];
  /** Requests sent, first attempts and retries. */
  readonly requests: number;
  /** 200 answers saying `duplicate: true` (a retry whose first attempt had been stored). */
  readonly duplicateAnswers: number;
  /** Failed attempts by cause: an HTTP status, or the client error's code. */
  readonly failures: Record<string, number>;
}

/** A live view of the run, for the chaos schedule. */
export interface HttpSendProgress {
  /** Messages acknowledged so far. */
  acked(): number;
  /** Resolves when every message was acknowledged. */
  readonly done: Promise<HttpSendReport>;
}

/**
 * Back-off of one sender after consecutive failures, with jitter: short, as the proxy restarts in
 * seconds, but long enough that 256 senders do not spend a core on refused connects meanwhile.
 */
const RETRY_MIN_MS = 20;
const RETRY_MAX_MS = 500;

/** Starts the senders; see {@link HttpSendProgress}. */
export function sendOverHttp(options: HttpSendOptions): HttpSendProgress {
  const pool = new Pool(options.origin, {
    connections: options.senders,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    connect: { timeout: 2000 },
    // A request left unanswered this long is treated like a cut connection: retried with its key.
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const ids = new Array<string>(options.count);
  const failures: Record<string, number> = {};
  let next = 0;
  let acked = 0;
  let requests = 0;
  let duplicateAnswers = 0;
  const deadline = Date.now() + options.deadlineMs;
  // The first sender to fail stops the others, so none goes on retrying against a destroyed pool.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const sendOne = async (n: number): Promise<void> => {
    const body = `${options.prefix}-${n}`;
    // No q-key: the outbox keys a keyless message by its id (a Kafka replay finds its first partition).
    const headers = { 'idempotency-key': body, 'content-type': 'text/plain' };
    for (let failed = 0; ; failed++) {
      stop.signal.throwIfAborted();
      if (Date.now() > deadline)
        throw new Error(
          `message ${n} not acknowledged within ${options.deadlineMs} ms; failures ${JSON.stringify(failures)}`,
        );
      requests++;
      let cause: string;
      try {
        const res = await pool.request({ path: '/v1/messages', method: 'POST', body, headers });
        const text = await res.body.text();
        if (res.statusCode === 200) {
          const answer = JSON.parse(text) as { id: string; duplicate: boolean };
          ids[n] = answer.id;
          if (answer.duplicate) duplicateAnswers++;
          acked++;
          return;
        }
        cause = String(res.statusCode);
        // Anything but 503 (closing, full) is a defect of the proxy or of this client: stop at once.
        if (res.statusCode !== 503) throw new Error(`message ${n}: HTTP ${res.statusCode} ${text}`);
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (stop.signal.aborted || typeof code !== 'string' || !(code.startsWith('UND_ERR') || code.startsWith('E')))
          throw error;
        cause = code;
      }
      failures[cause] = (failures[cause] ?? 0) + 1;
      const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failed, 5));
      await new Promise((resolve) => setTimeout(resolve, wait / 2 + Math.random() * (wait / 2)));
    }
  };

  const done = (async () => {
    const loops = await Promise.allSettled(
      Array.from({ length: options.senders }, async () => {
        try {
          for (let n = next++; n < options.count; n = next++) await sendOne(n);
        } catch (error) {
          stop.abort(error);
          throw error;
        }
      }),
    );
    options.signal?.removeEventListener('abort', onAbort);
    await pool.destroy();
    const failed = loops.find((l) => l.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    return { ids, requests, duplicateAnswers, failures };
  })();
  return { acked: () => acked, done };
}
