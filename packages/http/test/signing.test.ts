import { createHmac, randomBytes } from 'node:crypto';
import { InvalidOptionError } from '@q/core';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryEngine } from '../src/delivery/delivery-engine.js';
import { secretKey, signWebhook, WebhookSigner } from '../src/delivery/signing.js';
import { json, startTarget, tempDeadLetters } from './engine-target.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newSecret(bytes = 32): string {
  return `whsec_${randomBytes(bytes).toString('base64')}`;
}

describe('signWebhook (Standard Webhooks v1)', () => {
  it('equals the standardwebhooks sign() for whsec_ and bare base64 secrets, any body', () => {
    for (let i = 0; i < 50; i++) {
      const secret = newSecret(24 + (i % 41));
      const bare = secret.slice('whsec_'.length);
      const id = `msg_${randomBytes(6).toString('hex')}`;
      const seconds = 1_600_000_000 + i * 7919;
      // The verifier reads a Buffer as UTF-8 text, so the cross-check uses text (binary: the next test).
      const body =
        i % 3 === 0
          ? Buffer.alloc(0)
          : Buffer.from(JSON.stringify({ n: i, s: 'é✓😀'.repeat(i), r: randomBytes(i).toString('hex') }));
      const theirs = new Webhook(secret).sign(id, new Date(seconds * 1000), body);
      expect(signWebhook(secret, id, seconds, body)).toBe(theirs);
      expect(signWebhook(bare, id, seconds, body)).toBe(theirs);
    }
  });

  it('signs a binary body as its exact bytes', () => {
    const secret = newSecret();
    const body = randomBytes(300);
    const expected = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update(Buffer.concat([Buffer.from('msg_b.1700000000.'), body]))
      .digest('base64');
    expect(signWebhook(secret, 'msg_b', 1_700_000_000, body)).toBe(`v1,${expected}`);
  });

  it('is verified by the standardwebhooks verifier for JSON bodies', () => {
    const secret = newSecret();
    const body = json({ type: 'invoice.paid', data: { id: 42, name: 'é ✓' } });
    const id = 'msg_2Lx';
    const seconds = Math.floor(Date.now() / 1000);
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(seconds),
      'webhook-signature': signWebhook(secret, id, seconds, body),
    };
    expect(new Webhook(secret).verify(body.toString(), headers)).toEqual({
      type: 'invoice.paid',
      data: { id: 42, name: 'é ✓' },
    });
    const tampered = Buffer.from(body.toString().replace('42', '43'));
    expect(() => new Webhook(secret).verify(tampered.toString(), headers)).toThrow();
  });

  it('signs with every secret, space-separated, each verifiable on its own (rotation)', () => {
    const secrets = [newSecret(), newSecret(), newSecret()];
    const signer = new WebhookSigner(secrets);
    const body = json({ a: 1 });
    const ts = String(Math.floor(Date.now() / 1000));
    const header = signer.sign('msg_r', ts, body);
    const parts = header.split(' ');
    expect(parts).toHaveLength(3);
    for (const [i, secret] of secrets.entries()) {
      expect(parts[i]).toBe(signWebhook(secret, 'msg_r', Number(ts), body));
      const headers = { 'webhook-id': 'msg_r', 'webhook-timestamp': ts, 'webhook-signature': header };
      expect(new Webhook(secret).verify(body, headers)).toEqual({ a: 1 });
    }
    expect(() =>
      new Webhook(newSecret()).verify(body, {
        'webhook-id': 'msg_r',
        'webhook-timestamp': ts,
        'webhook-signature': header,
      }),
    ).toThrow();
  });

  it('refuses a secret that is not base64 of at least one byte, naming it', () => {
    expect(() => secretKey('whsec_', 'secrets[0]')).toThrow(InvalidOptionError);
    expect(() => secretKey('not base64!', 'secrets[1]')).toThrow(/secrets\[1\]/);
    expect(() => secretKey('whsec_a', 'x')).toThrow(InvalidOptionError);
    expect(secretKey('whsec_AQID').equals(Buffer.from([1, 2, 3]))).toBe(true);
  });
});

describe('DeliveryEngine signing', () => {
  it('sends webhook-signature per attempt that the target verifies with each secret, timestamps renewed', async () => {
    const secrets = [newSecret(), newSecret()];
    const verified: unknown[] = [];
    const target = await startTarget((hit, n) => {
      for (const s of secrets) verified.push(new Webhook(s).verify(hit.body, hit.headers as Record<string, string>));
      return n === 0 ? 503 : 200;
    });
    const dl = await tempDeadLetters();
    const engine = new DeliveryEngine({
      deadLetters: dl.deadLetters,
      secrets,
      retry: { minDelayMs: 5, maxDelayMs: 20 },
    });
    cleanups.push(async () => {
      await engine.close();
      await target.close();
      await dl.cleanup();
    });
    const body = json({ type: 'order.created', n: 7 });
    expect(await engine.deliver({ id: 'msg_s1', url: target.url, body })).toMatchObject({
      outcome: 'delivered',
      attempts: 2,
    });
    expect(verified).toEqual([
      { type: 'order.created', n: 7 },
      { type: 'order.created', n: 7 },
      { type: 'order.created', n: 7 },
      { type: 'order.created', n: 7 },
    ]);
    for (const hit of target.hits) {
      const sigs = String(hit.headers['webhook-signature']).split(' ');
      expect(sigs).toEqual(
        secrets.map((s) => signWebhook(s, 'msg_s1', Number(hit.headers['webhook-timestamp']), body)),
      );
    }
  });

  it('rejects invalid secrets at construction, naming the option', async () => {
    const dl = await tempDeadLetters();
    cleanups.push(() => dl.cleanup());
    expect(() => new DeliveryEngine({ deadLetters: dl.deadLetters, secrets: [newSecret(), '%%%'] })).toThrow(
      /secrets\[1\]/,
    );
  });
});
