/** `bodies` as the dedupe writer packs them for outbox-push-2.lua: a MessagePack array 32 of str 32. */
export function packed(bodies: readonly (string | Buffer)[]): Buffer {
  const parts = bodies.map((b) => (typeof b === 'string' ? Buffer.from(b) : b));
  const head = Buffer.alloc(5);
  head[0] = 0xdd;
  head.writeUInt32BE(parts.length, 1);
  return Buffer.concat([
    head,
    ...parts.flatMap((p) => {
      const h = Buffer.alloc(5);
      h[0] = 0xdb;
      h.writeUInt32BE(p.length, 1);
      return [h, p];
    }),
  ]);
}
