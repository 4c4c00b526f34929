// Runs that contend for one thing (one seat) take turns in this process: while one of a key is
// in its transaction the others wait, then ask the guard together (SharedCalls). Of a thousand
// requests for one seat, one runs a transaction and the rest are refused by one shared read,
// instead of each racing a transaction it must lose. The databases still decide; this only saves
// losing work.

/** A key's turn, held by one run until it calls end(). */
export interface Turn {
  end(): void;
}

export class Turns {
  private readonly running = new Map<string, Promise<void>>();

  /** Resolves once no run of the key is in its transaction (at once when none is). */
  async idle(key: string): Promise<void> {
    for (let turn = this.running.get(key); turn; turn = this.running.get(key)) await turn;
  }

  /** Takes the key's turn, or answers undefined when another run holds it; call end() after. */
  take(key: string): Turn | undefined {
    if (this.running.has(key)) return undefined;
    let end!: () => void;
    this.running.set(
      key,
      new Promise<void>((resolve) => {
        end = resolve;
      }),
    );
    return {
      end: () => {
        this.running.delete(key);
        end();
      },
    };
  }
}
