/**
 * The slot a key is held by, out of `slots` (a power of two): an integer key is its own slot modulo
 * `slots`, anything else goes through 32-bit FNV-1a of its string form. Two keys in one slot are
 * serialized together (never reordered); integer keys below `slots` never share one.
 */
export function keySlot(key: string | number, slots: number): number {
  if (typeof key === 'number' && (key | 0) === key) return key & (slots - 1);
  const s = typeof key === 'string' ? key : String(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h & (slots - 1);
}

/** Key slots of a queue: enough that a few thousand busy keys rarely share one. */
export const KEY_SLOTS = 8192;
