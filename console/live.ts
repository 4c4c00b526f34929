// Live refresh by polling: one refresh at a time, every `everyMs` while the page is shown.
export interface Live {
  /** Refreshes now (and keeps the schedule). */
  now(): Promise<void>;
  stop(): void;
}

export function live(refresh: () => Promise<void>, everyMs = 2000): Live {
  let stopped = false;
  let running: Promise<void> | undefined;
  const tick = () => {
    if (stopped) return Promise.resolve();
    running ??= refresh().finally(() => (running = undefined));
    return running;
  };
  const timer = setInterval(() => void tick().catch(() => undefined), everyMs);
  return {
    now: tick,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
