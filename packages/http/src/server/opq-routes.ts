import type { FastifyInstance } from 'fastify';
import { type AppContext, accepts } from './app.js';
import { fieldError } from './field-error.js';
import { encodeSingleValued, type FormFields, readForm } from './form.js';
import { checkRecordFits, inheritTraceparent, RECORD_HEADERS, targetUrl } from './message-input.js';
import { MAX_RECORD_BYTES, TOPIC_NAME } from './topic.js';
import { invalidTopic } from './topic-registry.js';

/** The content type OPQ delivered with, and what a pushed form is stored as. */
const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/**
 * OPQ's API, compatible: `POST /opq/push` and `POST /opq/replay`, forms in, `success` out. Unlike
 * OPQ's, a push is answered 201 only once its record is fdatasync'd, and a replay runs on its own
 * cursor (live delivery goes on) and refuses a start past the end instead of skipping to it.
 */
export function opqRoutes(app: FastifyInstance, context: AppContext): void {
  app.post('/opq/push', { onRequest: accepts('form') }, async (request, reply) => {
    const fields = await readForm(request, context.maxBodyBytes);
    const name = topicName(fields);
    const url = targetUrl(formField(fields, 'url'), 'url');
    // What OPQ sent the target: its single-valued fields, url-encoded (topic and url included).
    const record = inheritTraceparent(
      {
        body: encodeSingleValued(fields),
        headers: { [RECORD_HEADERS.url]: url, [RECORD_HEADERS.contentType]: FORM_CONTENT_TYPE },
      },
      request.headers,
    );
    checkRecordFits(record, MAX_RECORD_BYTES);
    const topic = await context.topics.obtain(name);
    await topic.append(record);
    return reply.code(201).type('text/plain; charset=utf-8').send('success');
  });

  app.post('/opq/replay', { onRequest: accepts('form') }, async (request, reply) => {
    const fields = await readForm(request, context.maxBodyBytes);
    const topic = context.topics.known(topicName(fields));
    const cmd = formField(fields, 'cmd');
    if (cmd === undefined) throw fieldError('cmd', 'is required: the seq to replay from', true);
    if (!/^\d{1,15}$/.test(cmd))
      throw fieldError('cmd', `must be a seq, an integer >= 0 (got ${JSON.stringify(cmd.slice(0, 100))})`);
    topic.replay(Number(cmd));
    return reply.code(201).type('text/plain; charset=utf-8').send('success');
  });
}

/**
 * The single value of form field `name`, undefined when absent.
 * @throws {HttpError} 400 when it was given more than once.
 */
function formField(fields: FormFields, name: string): string | undefined {
  const values = fields.get(name);
  if (values === undefined) return undefined;
  if (values.length > 1) throw fieldError(name, `was given ${values.length} times: give it once`);
  return values[0]?.toString('utf8');
}

function topicName(fields: FormFields): string {
  const name = formField(fields, 'topic');
  if (name === undefined || name === '') throw fieldError('topic', 'is required', true);
  if (!TOPIC_NAME.test(name)) throw invalidTopic(name);
  return name;
}
