// A progress bar on stderr for the backfill: redrawn in place on a terminal,
// one line per 10% otherwise (CI logs stay short).

export interface ProgressBar {
  update(done: number, total: number, detail: string): void;
  finish(detail: string): void;
}

export function createProgressBar(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const tty = Boolean(stream.isTTY);
  let lastDraw = 0;
  let lastDecile = -1;
  const render = (done: number, total: number, detail: string) => {
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    const width = 30;
    const filled = Math.round(ratio * width);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${detail}`;
  };
  return {
    update(done, total, detail) {
      const now = Date.now();
      if (tty) {
        if (now - lastDraw < 100) return;
        lastDraw = now;
        stream.write(`\r${render(done, total, detail)}\x1b[K`);
        return;
      }
      const decile = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (decile > lastDecile) {
        lastDecile = decile;
        stream.write(`${render(done, total, detail)}\n`);
      }
    },
    finish(detail) {
      stream.write(`${tty ? '\r' : ''}${render(1, 1, detail)}${tty ? '\x1b[K' : ''}\n`);
    },
  };
}

export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
