/** An {@link HttpQueueServer} in this process on 127.0.0.1:0, in a fresh directory removed by `close`. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FormData, request } from 'undici';
import { HttpQueueServer } from '../../src/server/http-queue-server.js';
import type { HttpQueueServerOptions } from '../../src/server/options.js';

/** A started server and its directory. */
export interface TestServer {
  readonly server: HttpQueueServer;
  readonly origin: string;
  readonly dir: string;
  /** Closes the server; removes the directory unless `keepDir`. */
  close(keepDir?: boolean): Promise<void>;
}

/** Fast retries, so tests that see a failure see its retry within a second. */
export const FAST_DELIVERY = { retry: { minDelayMs: 20, maxDelayMs: 200 } } as const;

/** Starts a server on `dir` (default: a new temporary one). */
export async function startServer(
  options: Partial<HttpQueueServerOptions> = {},
  dir = mkdtempSync(join(tmpdir(), 'q-http-server-')),
): Promise<TestServer> {
  const server = new HttpQueueServer({ delivery: FAST_DELIVERY, ...options, dir, port: 0 });
  try {
    const { http } = await server.start();
    return {
      server,
      origin: http,
      dir,
      async close(keepDir = false) {
        await server.close({ timeoutMs: 2000 });
        if (!keepDir) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server.close({ timeoutMs: 0 }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** A response read whole: status, headers and body text (parsed when JSON). */
export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: unknown;
}

/** Sends one request and reads the whole answer. */
export async function send(
  origin: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?:
    | { json: unknown }
    | { form: Record<string, string | string[]> }
    | { raw: string | Buffer; type?: string }
    | { formData: FormData },
  extraHeaders: Record<string, string> = {},
): Promise<Answer> {
  let payload: string | Buffer | FormData | undefined;
  const headers: Record<string, string> = { ...extraHeaders };
  if (body !== undefined && 'json' in body) {
    payload = JSON.stringify(body.json);
    headers['content-type'] = 'application/json';
  } else if (body !== undefined && 'form' in body) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(body.form))
      for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
    payload = params.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else if (body !== undefined && 'formData' in body) {
    payload = body.formData;
  } else if (body !== undefined) {
    payload = body.raw;
    if (body.type !== undefined) headers['content-type'] = body.type;
  }
  const res = await request(`${origin}${path}`, { method, headers, body: payload });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}
