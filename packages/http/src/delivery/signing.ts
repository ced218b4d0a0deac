import { createHmac } from 'node:crypto';
import { InvalidOptionError } from '@q/core';

const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The HMAC key of a Standard Webhooks secret: `whsec_<base64>` or the bare base64 (what the
 * `standardwebhooks` verifier takes). Throws `InvalidOptionError` naming `option` when it is not base64 of at
 * least one byte.
 */
export function secretKey(secret: string, option = 'secret'): Buffer {
  if (typeof secret !== 'string') throw new InvalidOptionError(option, secret, 'a string: whsec_<base64> or base64');
  const text = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  if (!BASE64.test(text) || text.length % 4 === 1)
    throw new InvalidOptionError(option, '<redacted>', 'whsec_<base64> or base64 of at least one byte');
  const key = Buffer.from(text, 'base64');
  if (key.length === 0)
    throw new InvalidOptionError(option, '<redacted>', 'whsec_<base64> or base64 of at least one byte');
  return key;
}

/** The `v1` HMAC-SHA256 of `id.timestamp.body` under `key`, base64. */
function hmac(key: Buffer, id: string, timestamp: string, body: Buffer): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}

/**
 * A Standard Webhooks v1 signature, `v1,<base64 HMAC-SHA256 of "id.timestampSeconds.body">`: what one
 * secret puts in `webhook-signature`. The body is signed as the exact bytes sent.
 * @example signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_1', 1700000000, Buffer.from('{}'))
 */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: Buffer): string {
  return `v1,${hmac(secretKey(secret), id, String(timestampSeconds), body)}`;
}

/**
 * Signs with every configured secret (decoded once): the `webhook-signature` value is one `v1,<sig>` per
 * secret, space-separated, so that a receiver holding either the old or the new secret verifies during a
 * rotation.
 */
export class WebhookSigner {
  readonly #keys: readonly Buffer[];

  /** `secrets` as validated by the engine's options; empty signs nothing. */
  constructor(secrets: readonly string[]) {
    this.#keys = secrets.map((s, i) => secretKey(s, `secrets[${i}]`));
  }

  /** Whether there is any secret (without one, no `webhook-signature` header is sent). */
  get signs(): boolean {
    return this.#keys.length > 0;
  }

  /** The `webhook-signature` header value for this attempt. */
  sign(id: string, timestamp: string, body: Buffer): string {
    const keys = this.#keys;
    let out = `v1,${hmac(keys[0] as Buffer, id, timestamp, body)}`;
    for (let i = 1; i < keys.length; i++) out += ` v1,${hmac(keys[i] as Buffer, id, timestamp, body)}`;
    return out;
  }
}
