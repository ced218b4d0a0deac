// Review B, defect "the body limit does not hold for multipart files": file parts were drained
// unread and only each one was bounded (fileSize = maxBodyBytes), so a push of many files under the
// limit each was read whole (up to 1,000 parts x maxBodyBytes) and answered 201.
import { FormData } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startServer, type TestServer } from './server-support/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ maxBodyBytes: 64 * 1024 });
});
afterAll(async () => {
  await server?.close();
});

describe('review B: multipart pushes within maxBodyBytes', () => {
  it('files count toward the limit: three files of 40 KiB under a 64 KiB limit get 413, nothing stored', async () => {
    const form = new FormData();
    form.append('topic', 'mp');
    form.append('url', 'http://127.0.0.1:9/');
    for (let i = 0; i < 3; i++) form.append(`f${i}`, new Blob([Buffer.alloc(40 * 1024, 97)]), `f${i}.bin`);
    const answer = await send(server.origin, 'POST', '/opq/push', { formData: form });
    expect(answer.status, answer.text).toBe(413);
    expect((answer.json as { error: { code: string } }).error.code).toBe('body_too_large');
    expect(server.server.topics.get('mp')).toBeUndefined();
  });

  it('one small file is still drained and the push stored', async () => {
    const form = new FormData();
    form.append('topic', 'mp');
    form.append('url', 'http://127.0.0.1:9/');
    form.append('f', new Blob([Buffer.alloc(1024, 97)]), 'f.bin');
    const answer = await send(server.origin, 'POST', '/opq/push', { formData: form });
    expect(answer.status, answer.text).toBe(201);
  });
});
