import type { Dispatcher } from 'undici';
import { AttemptSignal } from './attempt-signal.js';
import type { DeliveryJob } from './delivery-job.js';
import { classifyStatus, type StatusOutcome, transportCause } from './outcome.js';
import { parseRetryAfter } from './retry-after.js';
import type { WebhookSigner } from './signing.js';
import type { DeliveryItem } from './types.js';

/** The `user-agent` of every request (an item's own `user-agent` header replaces it). */
export const USER_AGENT = 'q-http/0.1';

/**
 * Header names an item cannot set: the signed ones and `idempotency-key` (they must match the id and the
 * attempt), and the framing ones undici sets or refuses.
 */
const RESERVED: ReadonlySet<string> = new Set([
  'webhook-id',
  'webhook-timestamp',
  'webhook-signature',
  'idempotency-key',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'expect',
  'te',
  'trailer',
]);

/** What the engine gives an attempt, and how the attempt reports back. */
export interface AttemptContext {
  readonly dispatcher: Dispatcher;
  readonly timeoutMs: number;
  readonly excerptBytes: number;
  readonly signer: WebhookSigner;
  /** Called once per attempt, when it settled: its verdict; status, cause, excerpt, Retry-After are on the job. */
  attempted(job: DeliveryJob, verdict: StatusOutcome): void;
}

let lastSecond = -1;
let lastSecondText = '';

/** This attempt's `webhook-timestamp`: unix seconds, the text reused within a second. */
function unixSeconds(): string {
  const s = Math.floor(Date.now() / 1000);
  if (s !== lastSecond) {
    lastSecond = s;
    lastSecondText = String(s);
  }
  return lastSecondText;
}

/** The request headers of `item` without timestamp and signature (set per attempt). */
function requestHeaders(item: DeliveryItem): Record<string, string> {
  const headers: Record<string, string> = Object.create(null);
  const own = item.headers;
  if (own !== undefined) {
    for (const name in own) {
      const lower = name.toLowerCase();
      if (!RESERVED.has(lower)) headers[lower] = own[name] as string;
    }
  }
  if (headers['content-type'] === undefined) headers['content-type'] = 'application/json';
  if (headers['user-agent'] === undefined) headers['user-agent'] = USER_AGENT;
  headers['webhook-id'] = item.id;
  headers['idempotency-key'] = item.id;
  return headers;
}

/**
 * Starts one attempt of `job` (POST of its body to its endpoint, signed for this attempt) and reports its
 * verdict through `ctx.attempted`, exactly once: at the response (after its body is read: up to
 * `excerptBytes` kept for a failure, the rest dumped), at a transport error, or at `timeoutMs`, whichever
 * comes first. A request still queued in undici when the deadline passes is abandoned, not waited for.
 */
export function sendAttempt(job: DeliveryJob, ctx: AttemptContext): void {
  const n = ++job.attempts;
  const endpoint = job.endpoint;
  if (endpoint === undefined) throw new Error('an attempt needs an endpoint');
  const item = job.item;
  // Only one attempt of a job is in flight, and undici copies headers when it builds the request, so the
  // object is reused from attempt to attempt.
  const headers = job.headers ?? requestHeaders(item);
  job.headers = headers;
  const timestamp = unixSeconds();
  headers['webhook-timestamp'] = timestamp;
  if (ctx.signer.signs) headers['webhook-signature'] = ctx.signer.sign(item.id, timestamp, item.body);
  job.status = undefined;
  job.excerpt = undefined;
  job.retryAfterMs = undefined;
  const signal = new AttemptSignal();
  job.signal = signal;
  job.timer = setTimeout(onDeadline, ctx.timeoutMs, job, n, ctx);
  let pending: Promise<Dispatcher.ResponseData>;
  try {
    pending = ctx.dispatcher.request({
      origin: endpoint.origin,
      path: endpoint.path,
      method: 'POST',
      headers,
      body: item.body,
      // undici takes any object with aborted/addEventListener as a signal (its types say AbortSignal).
      signal: signal as unknown as AbortSignal,
    });
  } catch (err) {
    pending = Promise.reject(err);
  }
  pending.then(
    (res) => onResponse(job, n, res, ctx),
    (err: unknown) => {
      if (job.settled >= n) return;
      job.cause = transportCause(err);
      settle(job, n, 'retry', ctx);
    },
  );
}

function onResponse(job: DeliveryJob, n: number, res: Dispatcher.ResponseData, ctx: AttemptContext): void {
  const body = res.body;
  if (job.settled >= n) {
    body.dump().catch(noop);
    return;
  }
  const status = res.statusCode;
  job.status = status;
  const verdict = classifyStatus(status);
  if (verdict === 'delivered') {
    body.dump().then(() => settle(job, n, verdict, ctx), noop);
    return;
  }
  job.cause = `HTTP ${status}`;
  if (verdict === 'retry') job.retryAfterMs = parseRetryAfter(res.headers['retry-after'], Date.now());
  const max = ctx.excerptBytes;
  const chunks: Buffer[] = [];
  let bytes = 0;
  if (max > 0)
    body.on('data', (chunk: Buffer) => {
      if (bytes < max) {
        chunks.push(chunk);
        bytes += chunk.length;
      }
    });
  // dump() resolves when the body closed: read to its end, or destroyed (deadline, close, over 128 KiB).
  body.dump().then(() => {
    if (job.settled >= n) return;
    if (max > 0) job.excerpt = utf8Prefix(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), max);
    settle(job, n, verdict, ctx);
  }, noop);
}

function onDeadline(job: DeliveryJob, n: number, ctx: AttemptContext): void {
  job.timer = undefined;
  if (job.settled >= n) return;
  job.signal?.abort();
  // A status already received decides (a 2xx whose body is slow was still delivered).
  const status = job.status;
  if (status === undefined) job.cause = `timeout after ${ctx.timeoutMs} ms`;
  settle(job, n, status === undefined ? 'retry' : classifyStatus(status), ctx);
}

function settle(job: DeliveryJob, n: number, verdict: StatusOutcome, ctx: AttemptContext): void {
  if (job.settled >= n) return;
  job.settled = n;
  if (job.timer !== undefined) clearTimeout(job.timer);
  job.timer = undefined;
  job.signal = undefined;
  ctx.attempted(job, verdict);
}

/**
 * At most `max` bytes of `buf` as text, cut before a character that would not fit whole (a cut inside a
 * multi-byte character would leave a replacement character).
 */
export function utf8Prefix(buf: Buffer, max: number): string {
  if (buf.length <= max) return buf.toString('utf8');
  let end = max;
  // Back up over continuation bytes (10xxxxxx) to the start of the character that straddles the cut
  // (three at most: a longer run is not UTF-8, and is cut anywhere).
  const floor = Math.max(0, max - 3);
  while (end > floor && ((buf[end] as number) & 0xc0) === 0x80) end--;
  return buf.toString('utf8', 0, end);
}

function noop(): void {}
