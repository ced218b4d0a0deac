/** The key of a topic-partition in a member's maps (topic names cannot contain NUL). */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
