import { HttpError } from './http-error.js';

/** A route of a `q-*` server, for its 404 and 405 answers. */
export interface RouteSpec {
  readonly method: string;
  /** The path as the routes list shows it (`/v1/topics/:topic`). */
  readonly path: string;
  /** Whether a request's path (query removed) is this route's. */
  readonly matches: (path: string) => boolean;
}

/**
 * The answer to a request no route took: 405 naming the methods when its path is a route's (with
 * `details.allow`, for the `Allow` header), else 404 naming every route. The path is cut to 200 characters.
 */
export function routeMiss(method: string, url: string, routes: readonly RouteSpec[]): HttpError {
  const path = (url.split('?')[0] ?? '').slice(0, 200);
  const allowed = routes.filter((r) => r.matches(path)).map((r) => r.method);
  if (allowed.length > 0)
    return new HttpError(405, 'method_not_allowed', `${method} ${path}: this route takes ${allowed.join(', ')}`, {
      details: { allow: allowed },
    });
  return new HttpError(
    404,
    'not_found',
    `no route ${method} ${path}: the routes are ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}`,
    { details: { route: `${method} ${path}` } },
  );
}

/** What {@link sendHttpError} needs of a reply (a Fastify reply has it). */
export interface HttpErrorReply {
  header(name: string, value: string): unknown;
  code(status: number): { send(payload: unknown): unknown };
}

/** Answers `answer` on `reply`: its status, `Retry-After` when set, `Allow` for a 405, and its JSON body. */
export function sendHttpError(reply: HttpErrorReply, answer: HttpError): unknown {
  if (answer.retryAfterSeconds !== undefined) reply.header('retry-after', String(answer.retryAfterSeconds));
  if (answer.status === 405) reply.header('allow', (answer.details.allow as string[]).join(', '));
  return reply.code(answer.status).send(answer.body());
}
