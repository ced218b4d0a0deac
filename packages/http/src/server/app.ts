import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import multipart from '@fastify/multipart';
import type { Logger } from '@q/core';
import { HttpError, type RouteSpec, routeMiss, sendHttpError } from '@q/core/internal';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { parseUrlEncoded } from './form.js';
import type { HttpQueueMetrics } from './metrics.js';
import { opqRoutes } from './opq-routes.js';
import type { TopicRegistry } from './topic-registry.js';
import { closingError } from './topic-registry.js';
import { topicRoutes } from './topic-routes.js';

/** What the routes need from the server that runs them. */
export interface AppContext {
  readonly topics: TopicRegistry;
  readonly metrics: HttpQueueMetrics;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** Whether the server is closing: POST routes answer 503. */
  closing(): boolean;
  /** The body and status of `GET /v1/health`. */
  health(): { status: number; body: Record<string, unknown> };
}

/** The server's routes, method and path, for 404 and 405 answers. */
export const ROUTES = [
  ['POST', '/opq/push'],
  ['POST', '/opq/replay'],
  ['GET', '/v1/topics'],
  ['GET', '/v1/topics/:topic'],
  ['POST', '/v1/topics/:topic/messages'],
  ['POST', '/v1/topics/:topic/replay'],
  ['GET', '/v1/topics/:topic/dead-letters'],
  ['POST', '/v1/topics/:topic/dead-letters/redrive'],
  ['POST', '/v1/topics/:topic/endpoints/enable'],
  ['GET', '/v1/health'],
  ['GET', '/metrics'],
] as const;

const ROUTE_SPECS: RouteSpec[] = ROUTES.map(([method, path]) => {
  const pattern = new RegExp(`^${path.replace(':topic', '[^/]+')}$`);
  return { method, path, matches: (p: string) => pattern.test(p) };
});

/**
 * The server's Fastify app, and a second HTTP server for a unix socket that runs the same app (one
 * router, hooks and error handler for both listeners). Nothing listens yet.
 */
export function createHttpApp(context: AppContext): { app: FastifyInstance; socketServer: Server } {
  let socketServer: Server | undefined;
  const app = Fastify({
    logger: false,
    // Our onRequest hook answers with our JSON and Retry-After instead.
    return503OnClosing: false,
    bodyLimit: context.maxBodyBytes,
    // The router's own refusals (a malformed URL, a path parameter over its 100 characters) in our JSON.
    frameworkErrors: (error, _request, reply) => {
      const answer =
        error.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new HttpError(400, 'invalid_topic', 'topic must be 1 to 100 of A-Z a-z 0-9 _ - (got a longer one)', {
              details: { field: 'topic' },
            })
          : toHttpError(error, context.maxBodyBytes);
      void (reply as FastifyReply).code(answer.status).send(answer.body());
    },
    clientErrorHandler: writeClientError,
    serverFactory: (handler) => {
      socketServer = createServer(handler);
      // Fastify puts its clientErrorHandler on its own server only.
      socketServer.on('clientError', writeClientError);
      return createServer(handler);
    },
  });
  const { metrics, logger } = context;

  // Parsed from the bytes (not a UTF-8 string, which would replace bytes OPQ keeps): form.ts.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'buffer', bodyLimit: context.maxBodyBytes },
    (_request, body, done) => done(null, parseUrlEncoded(body as Buffer)),
  );
  void app.register(multipart, { throwFileSizeLimit: true });

  app.addHook('onRequest', (request, _reply, done) => {
    if (!context.closing() || request.method !== 'POST') return done();
    done(closingError());
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

  void app.register(async (scoped) => {
    opqRoutes(scoped, context);
    topicRoutes(scoped, context);
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
    const answer = toHttpError(error, context.maxBodyBytes);
    if (answer.status >= 500 && answer.code === 'internal')
      logger.error({ err: error, route: request.routeOptions.url, method: request.method }, 'request failed');
    return sendHttpError(reply, answer);
  });

  if (socketServer === undefined) throw new Error('fastify did not call serverFactory');
  return { app, socketServer };
}

/**
 * The HTTP answer for any error a request met: ours as they are, Fastify's, the log's and the
 * deliverer's mapped to their status and code, anything else a 500 that says nothing of the error
 * (no message, no stack: those go to the log).
 * @param bodyLimit the body limit, named in a 413
 */
export function toHttpError(error: unknown, bodyLimit: number): HttpError {
  if (error instanceof HttpError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
    case 'FST_FIELDS_LIMIT':
    case 'FST_REQ_FILE_TOO_LARGE':
      return new HttpError(413, 'body_too_large', `the body is over ${bodyLimit} bytes (or has too many parts)`, {
        details: { limit: bodyLimit },
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return new HttpError(415, 'unsupported_media_type', 'the content-type is not one this route takes');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return new HttpError(400, 'invalid_json', 'the body is not valid JSON');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, 'empty_body', 'the body is empty: a JSON object is expected');
    case 'FST_PROTO_VIOLATION':
      return new HttpError(400, 'invalid_field', 'a field is named like a prototype property (__proto__...)');
    case 'Q_LOG_RECORD_TOO_LARGE':
      return new HttpError(413, 'message_too_large', message);
    case 'Q_LOG_FULL':
      return new HttpError(503, 'full', 'the log is full: nothing was stored, retry later', { retryAfterSeconds: 1 });
    case 'Q_LOG_CLOSED':
    case 'Q_HTTP_CLOSED':
      return closingError();
    case 'Q_HTTP_REPLAY_RANGE':
      return new HttpError(400, 'replay_range', message);
    case 'Q_INVALID_OPTION':
      return new HttpError(400, 'invalid_field', message);
  }
  // Fastify's own client errors (a bad content-length, a malformed URL) say what was wrong.
  const status = (error as FastifyError | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new HttpError(status, 'bad_request', message);
  return new HttpError(500, 'internal', 'internal error: see the server log');
}

/**
 * The answer to a request Node's HTTP parser refused before any route saw it (headers over the
 * limit, a malformed request line, a request that timed out), in the JSON shape of every other 4xx.
 */
function writeClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, answer] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [
          431,
          'Request Header Fields Too Large',
          new HttpError(431, 'headers_too_large', 'the request headers are too large'),
        ]
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', new HttpError(408, 'request_timeout', 'the request took too long to arrive')]
        : [400, 'Bad Request', new HttpError(400, 'bad_request', 'the request is not valid HTTP/1.1')];
  const body = JSON.stringify(answer.body());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** What a route's body must be: a form (url-encoded or multipart) or JSON. */
export type BodyKind = 'form' | 'json';

const FORM_TYPE = /^(application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i;
const JSON_TYPE = /^application\/json\s*(;|$)/i;

/**
 * An onRequest hook refusing a body of another media type with 415 before a byte of it is read. A
 * route takes no body at all as well (a JSON route's fields are then all absent; a form route's
 * come from the query string, as OPQ reads them).
 */
export function accepts(kind: BodyKind) {
  return (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void => {
    const type = request.headers['content-type'];
    const hasBody =
      request.headers['transfer-encoding'] !== undefined ||
      (request.headers['content-length'] !== undefined && request.headers['content-length'] !== '0');
    const ok = !hasBody || (type !== undefined && (kind === 'form' ? FORM_TYPE : JSON_TYPE).test(type));
    if (ok) {
      done();
      return;
    }
    done(
      new HttpError(
        415,
        'unsupported_media_type',
        kind === 'form'
          ? 'this route takes a form: application/x-www-form-urlencoded or multipart/form-data'
          : 'this route takes application/json',
        { details: { contentType: type ?? null } },
      ),
    );
  };
}
