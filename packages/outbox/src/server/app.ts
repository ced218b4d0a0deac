import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '@q/core';
import { HttpError, keepListening, type RouteSpec, routeMiss, sendHttpError } from '@q/core/internal';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Outbox } from '../index.js';
import { messageFromHeaders } from './message-input.js';
import type { ProxyMetrics } from './metrics.js';
import { parseBatch } from './ndjson.js';

/** What the routes need from the proxy that runs them. */
export interface ProxyAppContext {
  readonly outbox: Outbox;
  readonly metrics: ProxyMetrics;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  readonly maxBatchBytes: number;
  readonly maxBatchMessages: number;
  /** Whether the proxy is closing: message routes answer 503. */
  closing(): boolean;
  /** The body and status of `GET /v1/health`. */
  health(): { status: number; body: Record<string, unknown> };
}

/** The proxy's routes, method and path, for 404 and 405 answers. */
export const ROUTES = [
  ['POST', '/v1/messages'],
  ['POST', '/v1/messages/batch'],
  ['GET', '/v1/health'],
  ['GET', '/metrics'],
] as const;

const ROUTE_SPECS: RouteSpec[] = ROUTES.map(([method, path]) => ({ method, path, matches: (p: string) => p === path }));

/** Seconds a client is asked to wait before retrying a 503. */
const RETRY_AFTER_SECONDS = 1;

/**
 * Most header fields a request may have (Node's own default cap). Node silently drops the fields
 * past its `maxHeadersCount`, so the servers keep one more than this: a request that reaches it had
 * fields dropped (an Idempotency-Key among them, perhaps) and is refused rather than half read.
 */
export const MAX_REQUEST_HEADERS = 2000;

/**
 * The proxy's Fastify app, and a second HTTP server for a unix socket that runs the same app (one
 * router, hooks and error handler for both listeners). Nothing listens yet.
 */
export function createProxyApp(context: ProxyAppContext): { app: FastifyInstance; socketServer: Server } {
  let socketServer: Server | undefined;
  const app = Fastify({
    logger: false,
    // Our onRequest hook answers with our JSON and Retry-After instead.
    return503OnClosing: false,
    bodyLimit: context.maxBatchBytes,
    serverFactory: (handler) => {
      socketServer = createServer(handler);
      socketServer.maxHeadersCount = MAX_REQUEST_HEADERS + 1;
      const server = createServer(handler);
      server.maxHeadersCount = MAX_REQUEST_HEADERS + 1;
      return server;
    },
  });
  const { outbox, metrics, logger } = context;

  // Every body is bytes, whatever its content type: JSON is a message like any other.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  // Callback hooks: an async one costs a promise per request.
  app.addHook('onRequest', (request, _reply, done) => {
    // rawHeaders holds name and value of every field Node kept, so twice the count.
    if (request.raw.rawHeaders.length > 2 * MAX_REQUEST_HEADERS)
      return done(
        new HttpError(
          431,
          'too_many_headers',
          `the request has more than ${MAX_REQUEST_HEADERS} header fields: nothing was read or stored`,
          { details: { limit: MAX_REQUEST_HEADERS } },
        ),
      );
    if (!context.closing() || request.method !== 'POST') return done();
    done(
      new HttpError(503, 'closing', 'the proxy is shutting down: retry on another instance or later', {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      }),
    );
  });
  // While closing, keep-alive connections end after their answer so the listeners can close.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (context.closing()) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    metrics.request(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode);
    done();
  });

  app.post('/v1/messages', { bodyLimit: context.maxBodyBytes }, async (request) => {
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0)
      throw new HttpError(400, 'empty_body', 'the request has no body: the body is the message');
    const { key, headers, idempotencyKey } = messageFromHeaders(body, request.headers);
    const result = await outbox.send(body, { key, headers, idempotencyKey, signal: clientGone(request) });
    return { id: result.id, duplicate: result.duplicate };
  });

  app.post('/v1/messages/batch', { bodyLimit: context.maxBatchBytes }, async (request) => {
    const type = request.headers['content-type'];
    if (type === undefined || !/^application\/(x-ndjson|jsonl)\s*(;|$)/i.test(type))
      throw new HttpError(415, 'unsupported_media_type', 'a batch is application/x-ndjson: one JSON object per line', {
        details: { contentType: type ?? null },
      });
    const body = request.body;
    if (!Buffer.isBuffer(body) || body.length === 0)
      throw new HttpError(400, 'empty_batch', 'the request has no body: one JSON object per line');
    const messages = parseBatch(body, context.maxBodyBytes, context.maxBatchMessages);
    const results = await outbox.sendBatch(messages, { signal: clientGone(request) });
    return { ids: results.map((r) => r.id), duplicate: results.map((r) => r.duplicate) };
  });

  app.get('/v1/health', async (_request, reply) => {
    const { status, body } = context.health();
    return reply.code(status).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.setNotFoundHandler(async (request) => {
    throw routeMiss(request.method, request.url, ROUTE_SPECS);
  });

  app.setErrorHandler(async (error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const answer = toHttpError(error, request.routeOptions.bodyLimit ?? context.maxBodyBytes);
    if (answer.status >= 500 && answer.code === 'internal')
      logger.error({ err: error, route: request.routeOptions.url, method: request.method }, 'request failed');
    return sendHttpError(reply, answer);
  });

  if (socketServer === undefined) throw new Error('fastify did not call serverFactory');
  return { app, socketServer };
}

/**
 * The HTTP answer for any error a request met: ours as they are, Fastify's and the outbox's mapped
 * to their status and code, anything else a 500 that says nothing of the error (no message, no
 * stack: those go to the log).
 * @param bodyLimit the route's body limit, named in a 413
 */
export function toHttpError(error: unknown, bodyLimit: number): HttpError {
  if (error instanceof HttpError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, 'body_too_large', `the body is over ${bodyLimit} bytes`, {
        details: { limit: bodyLimit },
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, 'unsupported_media_type', 'the content-type header is not a valid media type');
    case 'Q_LOG_RECORD_TOO_LARGE':
      return new HttpError(413, 'message_too_large', message);
    case 'Q_OUTBOX_FULL':
    case 'Q_LOG_FULL':
      return new HttpError(503, 'outbox_full', 'the outbox is full: nothing was stored, retry later', {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    case 'Q_OUTBOX_CLOSED':
    case 'Q_LOG_CLOSED':
      return new HttpError(503, 'closing', 'the proxy is shutting down: nothing was stored, retry later', {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
      });
    case 'Q_INVALID_OPTION':
      return new HttpError(400, 'invalid_message', message);
  }
  // Fastify's own client errors (a bad content-length, a malformed URL) say what was wrong.
  const status = (error as FastifyError | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new HttpError(status, 'bad_request', message);
  return new HttpError(500, 'internal', 'internal error: see the proxy log');
}

/**
 * Per connection, a signal aborted when it closes: sends of a client that went away stop waiting
 * (a full log with `whenFull: 'block'` would otherwise hold their bodies for clients that are gone
 * and retrying). One per connection rather than per request: a controller per request cost about
 * a tenth of the proxy's CPU.
 */
const connectionSignals = new WeakMap<Socket, AbortSignal>();

/** The signal of `request`'s connection (see {@link connectionSignals}). */
function clientGone(request: FastifyRequest): AbortSignal {
  const socket = request.raw.socket;
  let signal = connectionSignals.get(socket);
  if (signal === undefined) {
    const controller = new AbortController();
    const gone = (): void => controller.abort(new Error('the client closed the connection'));
    // A socket already destroyed may have emitted its 'close' before the handler got here.
    if (socket.destroyed) gone();
    else socket.once('close', gone);
    signal = controller.signal;
    // One request after another waits on it for as long as the connection lives.
    keepListening(signal);
    connectionSignals.set(socket, signal);
  }
  return signal;
}
