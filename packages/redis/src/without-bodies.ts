/**
 * ioredis hangs the failed command on its errors (`command.args`): for RPUSH and LPUSH, every body
 * they carried. Loggers print an error's own properties, so the arguments go and only the command's
 * name stays. Returns `error`, changed in place.
 */
export function withoutBodies(error: unknown): unknown {
  const command = (error as { command?: { name?: unknown } } | null)?.command;
  if (command !== null && typeof command === 'object') {
    (error as { command: unknown }).command = { name: command.name };
  }
  return error;
}
