/** A progress bar on stderr (a line of deciles when stderr is not a terminal). */
export function progressBar(total: number, read: () => number): { stop(): void } {
  const tty = process.stderr.isTTY;
  let lastDecile = -1;
  const draw = (): void => {
    const share = Math.min(1, read() / total);
    if (tty) {
      const width = 40;
      const filled = Math.round(share * width);
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(1).padStart(5)}%`,
      );
    } else if (Math.floor(share * 10) > lastDecile) {
      lastDecile = Math.floor(share * 10);
      process.stderr.write(`${lastDecile * 10}% `);
    }
  };
  const timer = setInterval(draw, 100);
  return {
    stop() {
      clearInterval(timer);
      draw();
      process.stderr.write('\n');
    },
  };
}
