// Review of issue 15's proxy: a batch line that is not UTF-8. The single-message route refuses a
// q-header-* value that is not UTF-8 (400 invalid_header); the batch route decodes each line with
// replacement, so bytes that are not UTF-8 in "body", "key" or a header value become U+FFFD and the
// altered message is stored and answered 200. The message the sink gets is not the one sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessProxy, json, startInProcessProxy } from './server-support/in-process.js';

let p: InProcessProxy;
beforeAll(async () => {
  p = await startInProcessProxy();
});
afterAll(() => p?.dispose());

describe('review: an NDJSON line that is not UTF-8', () => {
  for (const [what, line] of [
    ['body', Buffer.concat([Buffer.from('{"body":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n')])],
    ['key', Buffer.concat([Buffer.from('{"body":"x","key":"k'), Buffer.from([0xff]), Buffer.from('"}\n')])],
    [
      'header value',
      Buffer.concat([Buffer.from('{"body":"x","headers":{"h":"'), Buffer.from([0xfe]), Buffer.from('"}}\n')]),
    ],
  ] as const) {
    it(`a ${what} with a byte that is not UTF-8: 400 invalid_line naming line 1, nothing stored`, async () => {
      const before = p.outbox.stats().accepted;
      const res = await p.http.request({
        path: '/v1/messages/batch',
        method: 'POST',
        body: line,
        headers: { 'content-type': 'application/x-ndjson' },
      });
      const body = await json(res.body);
      expect({ status: res.statusCode, body }).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_line', line: 1 } },
      });
      expect(p.outbox.stats().accepted).toBe(before);
    });
  }
});
