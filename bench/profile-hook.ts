// CPU profiles of a mesh process, for profiling the hot path under bench load. Loaded with
// NODE_OPTIONS=--require (which refuses --cpu-prof):
//   run.js --mesh-env NODE_OPTIONS="--require <repo>/dist/bench/profile-hook.js" \
//          --mesh-env BENCH_PROFILE_DIR=/tmp/prof
// profiles the whole life of each process and writes <dir>/<pid>.cpuprofile at exit. With
// BENCH_PROFILE_ON_SIGNAL=1 it waits instead: each SIGUSR2 starts or stops (and writes) a
// profile, so one window of load can be profiled alone. Open the files in Chrome DevTools.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  let running = false;
  let n = 0;
  const start = () => {
    session.post('Profiler.start');
    running = true;
  };
  // The in-process inspector answers synchronously, so this completes even inside 'exit'.
  const stop = () => {
    running = false;
    session.post('Profiler.stop', (err, result) => {
      if (!err)
        writeFileSync(
          join(dir, `${process.pid}-${n++}.cpuprofile`),
          JSON.stringify(result.profile),
        );
    });
  };
  if (process.env.BENCH_PROFILE_ON_SIGNAL === '1') {
    process.on('SIGUSR2', () => (running ? stop() : start()));
  } else {
    start();
  }
  process.once('exit', () => {
    if (running) stop();
  });
}
