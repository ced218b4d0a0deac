import type { FastifyInstance } from 'fastify';
import type { DeadLetter } from '../delivery/dead-letters.js';
import { type AppContext, accepts } from './app.js';
import { fieldError } from './field-error.js';
import {
  checkRecordFits,
  inheritTraceparent,
  itemRecord,
  messageRecord,
  RECORD_HEADERS,
  targetUrl,
} from './message-input.js';
import { MAX_RECORD_BYTES } from './topic.js';

/** Most dead letters one `GET .../dead-letters` returns. */
const MAX_LIST = 1000;

type TopicParams = { Params: { topic: string } };

/**
 * The JSON API, per topic: push a message, replay a range, read the topic's state, list and
 * re-drive its dead letters, re-enable an endpoint a 410 disabled. A push creates its topic; the
 * other routes answer 404 for a topic that has none.
 */
export function topicRoutes(app: FastifyInstance, context: AppContext): void {
  const { topics } = context;
  const json = { onRequest: accepts('json') };

  app.get('/v1/topics', async () => ({ topics: topics.topics().map((t) => t.name) }));

  app.post<TopicParams>('/v1/topics/:topic/messages', json, async (request, reply) => {
    const name = request.params.topic;
    // The name first: a bad one is refused before its message is looked at.
    topics.checkName(name);
    const record = inheritTraceparent(messageRecord(request.body), request.headers);
    checkRecordFits(record, MAX_RECORD_BYTES);
    const topic = await topics.obtain(name);
    const seq = await topic.append(record);
    return reply.code(201).send({ id: record.headers[RECORD_HEADERS.id] ?? `${name}_${seq}`, seq });
  });

  app.post<TopicParams>('/v1/topics/:topic/replay', json, async (request, reply) => {
    const topic = topics.known(request.params.topic);
    const body = objectBody(request.body, ['from', 'to', 'url'], true);
    const from = seqField(body.from, 'from', true) as number;
    const to = seqField(body.to, 'to');
    const url = body.url === undefined ? undefined : targetUrl(body.url, 'url');
    return reply.code(202).send(topic.replay(from, to, url));
  });

  app.get<TopicParams>('/v1/topics/:topic', async (request) => {
    const topic = topics.known(request.params.topic);
    return { topic: topic.name, firstSeq: topic.log.firstSeq, ...topic.deliverer.stats() };
  });

  app.get<TopicParams & { Querystring: Record<string, string | string[] | undefined> }>(
    '/v1/topics/:topic/dead-letters',
    async (request) => {
      const topic = topics.known(request.params.topic);
      const from = queryInt(request.query.from, 'from', 0);
      const max = queryInt(request.query.max, 'max', 1, MAX_LIST);
      const deadLetters = await topic.deliverer.deadLetters.list({
        ...(from === undefined ? {} : { from }),
        max: max ?? 100,
      });
      return { count: topic.deliverer.deadLetters.count, deadLetters: deadLetters.map(renderDeadLetter) };
    },
  );

  app.post<TopicParams>('/v1/topics/:topic/dead-letters/redrive', json, async (request) => {
    const topic = topics.known(request.params.topic);
    const body = objectBody(request.body, ['from', 'to']);
    const from = seqField(body.from, 'from');
    const to = seqField(body.to, 'to');
    // Back into the topic's log with their ids: delivered again like any record, durably first.
    const redriven = await topic.deliverer.deadLetters.redrive((item) => topic.append(itemRecord(item)), {
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
    return { redriven, redrivenThrough: topic.deliverer.deadLetters.redrivenThrough };
  });

  app.post<TopicParams>('/v1/topics/:topic/endpoints/enable', json, async (request) => {
    const topic = topics.known(request.params.topic);
    const body = objectBody(request.body, ['url'], true);
    const url = targetUrl(body.url, 'url');
    topic.deliverer.engine.enable(url);
    return { url, endpoint: topic.deliverer.engine.endpoints().find((e) => e.url === url) ?? null };
  });
}

/**
 * A JSON body as an object holding only `allowed` fields; no body reads as `{}` unless `required`.
 * @throws {HttpError} 400 naming the problem.
 */
function objectBody(body: unknown, allowed: readonly string[], required = false): Record<string, unknown> {
  if (body === undefined || body === null) {
    if (required) throw fieldError('the body', `must be a JSON object with ${allowed.join(', ')}`, true);
    return {};
  }
  if (typeof body !== 'object' || Array.isArray(body)) throw fieldError('the body', 'must be a JSON object');
  for (const name of Object.keys(body))
    if (!allowed.includes(name)) throw fieldError(name, `is not a field here (${allowed.join(', ')})`);
  return body as Record<string, unknown>;
}

function seqField(value: unknown, name: string, required = false): number | undefined {
  if (value === undefined) {
    if (required) throw fieldError(name, 'is required: a seq (an integer >= 0)', true);
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0)
    throw fieldError(name, `must be a seq, an integer >= 0 (got ${JSON.stringify(value)})`);
  return value;
}

function queryInt(value: string | string[] | undefined, name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  if (value === undefined) return undefined;
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= min && n <= max)) throw fieldError(name, `must be an integer from ${min} to ${max}`);
  return n;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A dead letter as JSON: the body as text when it is UTF-8, else base64. */
function renderDeadLetter(letter: DeadLetter): Record<string, unknown> {
  const { item } = letter;
  let body: { body: string } | { bodyBase64: string };
  try {
    body = { body: utf8.decode(item.body) };
  } catch {
    body = { bodyBase64: item.body.toString('base64') };
  }
  return {
    seq: letter.seq,
    id: item.id,
    url: item.url,
    ...(item.key === undefined ? {} : { key: item.key }),
    ...(item.seq === undefined ? {} : { sourceSeq: item.seq }),
    headers: item.headers ?? {},
    ...body,
    reason: letter.reason,
    attempts: letter.attempts,
    ...(letter.status === undefined ? {} : { status: letter.status }),
    cause: letter.cause,
    excerpt: letter.excerpt,
    at: letter.at,
  };
}
