import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError, isOutboxName } from '@q/core';
import { OutboxFileError } from './errors.js';

/** File holding the outbox's id: the id and a newline. */
export const OUTBOX_FILE = 'OUTBOX';
/** File holding the sequence reservation: a decimal number and a newline. */
export const SEQ_FILE = 'SEQ';

/**
 * Writes `text` so that after a crash or power loss the file holds either its old content or `text`,
 * never a part: a temp file, fdatasync, rename over, fsync of the directory.
 */
export async function writeDurably(dir: string, name: string, text: string): Promise<void> {
  const path = join(dir, name);
  const tmp = `${path}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path);
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** The file's text, or undefined when it does not exist. */
export async function readText(path: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The outbox's id: the one stored in `<dir>/OUTBOX`, else `wanted`, else a new random one, stored durably
 * before it is used. A `wanted` id other than the stored one is refused: records already in the log
 * would be forwarded under a new id, which no sink could de-duplicate against what the old one wrote.
 */
export async function loadOutboxId(dir: string, wanted: string | undefined): Promise<string> {
  const path = join(dir, OUTBOX_FILE);
  const text = await readText(path);
  if (text !== undefined) {
    const stored = text.trim();
    if (!isOutboxName(stored)) throw new OutboxFileError(path, 'not an outbox id');
    if (wanted !== undefined && wanted !== stored)
      throw new InvalidOptionError('id', wanted, `"${stored}", the id stored in ${path}`);
    return stored;
  }
  // base64url's alphabet is A-Z a-z 0-9 - _: 21 characters hold 126 random bits.
  const id = wanted ?? randomBytes(16).toString('base64url').slice(0, 21);
  await writeDurably(dir, OUTBOX_FILE, `${id}\n`);
  return id;
}

/** The stored sequence reservation ("every seq below may have been used"), or undefined without a `SEQ` file. */
export async function readSeqFloor(dir: string): Promise<number | undefined> {
  const path = join(dir, SEQ_FILE);
  const text = await readText(path);
  if (text === undefined) return undefined;
  const floor = Number(text.trim());
  if (!/^\d{1,16}\s*$/.test(text) || !Number.isSafeInteger(floor))
    throw new OutboxFileError(path, 'not a sequence number');
  return floor;
}

/** Stores a new sequence reservation durably. */
export function writeSeqFloor(dir: string, floor: number): Promise<void> {
  return writeDurably(dir, SEQ_FILE, `${floor}\n`);
}
