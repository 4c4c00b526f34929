// Crash points for fault tests. FAILPOINTS=name[,name...] makes the process die at once
// (SIGKILL, like a power cut: no cleanup, no shutdown hooks) when it reaches a named point.
// Empty in every real deployment; the crash tests use it to stop a process at an exact step.

let armed = new Set<string>();

export function armFailpoints(names: string[]): void {
  armed = new Set(names);
}

export function failpoint(name: string): void {
  if (armed.size > 0 && armed.has(name)) process.kill(process.pid, 'SIGKILL');
}
