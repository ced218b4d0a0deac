import type { KafkaPusher } from '@q/kafka';

/**
 * Pushes each value with itself as key and records those the broker confirmed in `confirmed`; a push
 * that fails is left out (a fault test counts only confirmed pushes as promised).
 */
export async function pushConfirmed(
  pusher: KafkaPusher,
  values: readonly string[],
  confirmed: string[],
): Promise<void> {
  await Promise.all(
    values.map((v) =>
      pusher.pushWithKey(v, v).then(
        () => void confirmed.push(v),
        () => {},
      ),
    ),
  );
}
