// Fault points for crash and slowness tests, armed by FAILPOINTS=name[=action][,name=action...]:
//   kill          the process dies at once (SIGKILL, like a power cut: no cleanup, no hooks);
//   delay(ms)     the caller waits that long, then goes on (a branch that outlives its deadline,
//                 a stalled phase-2 call);
//   error(errno)  the caller fails as MariaDB would with that errno (1205 lock wait timeout,
//                 1213 deadlock) or, for any other number, as a lost connection;
//   N*action      only the first N times the point is reached.
// Empty in every real deployment; tests arm one in a process they start (FAILPOINTS env).

type Action = { kind: 'kill' } | { kind: 'delay'; ms: number } | { kind: 'error'; errno: number };

interface Armed {
  action: Action;
  /** How many more times it fires; Infinity without N*. */
  left: number;
}

const SPEC = /^([A-Za-z0-9_.:-]+)(?:=(?:(\d+)\*)?(kill|delay\((\d+)\)|error\((\d+)\)))?$/;

let armed = new Map<string, Armed>();

/** Parses FAILPOINTS entries; throws naming the first one that is not understood. */
export function parseFailpoints(specs: string[]): Map<string, Armed> {
  const out = new Map<string, Armed>();
  for (const spec of specs) {
    const m = SPEC.exec(spec);
    if (!m)
      throw new Error(`FAILPOINTS: cannot read "${spec}" (name[=[N*]kill|delay(ms)|error(errno)])`);
    const [, name, times, , ms, errno] = m;
    const action: Action =
      ms !== undefined
        ? { kind: 'delay', ms: Number(ms) }
        : errno !== undefined
          ? { kind: 'error', errno: Number(errno) }
          : { kind: 'kill' };
    out.set(name, { action, left: times ? Number(times) : Infinity });
  }
  return out;
}

export function armFailpoints(specs: string[]): void {
  armed = parseFailpoints(specs);
}

/**
 * Reached point `name`: does nothing unless armed. Callers await it, so a delay or an error
 * takes effect exactly there.
 */
export function failpoint(name: string): Promise<void> | undefined {
  if (armed.size === 0) return undefined;
  const a = armed.get(name);
  if (!a || a.left <= 0) return undefined;
  a.left--;
  switch (a.action.kind) {
    case 'kill':
      process.kill(process.pid, 'SIGKILL');
      return undefined;
    case 'delay': {
      const ms = a.action.ms;
      return new Promise((resolve) => setTimeout(resolve, ms));
    }
    case 'error':
      return Promise.reject(databaseError(a.action.errno, name));
  }
}

/** An error shaped as mysql2 reports a server error (errno), which is how callers classify it. */
function databaseError(errno: number, point: string): Error {
  const messages: Record<number, string> = {
    1205: 'Lock wait timeout exceeded; try restarting transaction',
    1213: 'Deadlock found when trying to get lock; try restarting transaction',
  };
  return Object.assign(new Error(`${messages[errno] ?? 'Connection lost'} (failpoint ${point})`), {
    errno,
    code:
      errno === 1205
        ? 'ER_LOCK_WAIT_TIMEOUT'
        : errno === 1213
          ? 'ER_LOCK_DEADLOCK'
          : 'PROTOCOL_CONNECTION_LOST',
  });
}
