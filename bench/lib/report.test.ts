import { expect } from 'chai';
import { chart, escapeXml, niceMax } from './chart';
import type { LatencySummary } from './histogram';
import { bar, Progress } from './progress';
import { markdown } from './report';
import {
  checks,
  payFloors,
  targets,
  type BenchResults,
  type HotSeatResult,
  type PhaseResult,
} from './results';

function lat(p50: number, p99 = p50 * 2): LatencySummary {
  return { count: 100, mean: p50, p50, p95: (p50 + p99) / 2, p99, max: p99 * 1.5 };
}

function phase(throughput: number, p50: number, extra: Partial<PhaseResult> = {}): PhaseResult {
  return {
    label: 'x',
    kind: 'closed',
    users: 24,
    ok: throughput * 20,
    failed: 0,
    elapsedS: 20,
    throughput,
    latency: lat(p50),
    exhausted: false,
    errors: {},
    ...extra,
  };
}

function hot(winners: number, conflicts: number, lastAnswerMs: number): HotSeatResult {
  return { holds: 1000, winners, conflicts, other: {}, latency: lat(300), lastAnswerMs };
}

function results(): BenchResults {
  const systems: BenchResults['systems'] = {
    saga: {
      pay: phase(300, 60, {
        cpu: {
          msPerOp: { service: 6.1, database: 3.2, broker: 0.3, client: 0.4 },
          machineCores: 1.7,
        },
        grpcCallsPerOp: 7,
      }),
      reserve: phase(500, 30),
      payHalf: phase(150, 20, { kind: 'open', rate: 150 }),
      hotSeat: hot(1, 999, 1500),
      statusPoll: phase(3000, 5),
    },
    xa: {
      pay: phase(200, 90),
      reserve: phase(400, 40),
      payHalf: phase(100, 40, { kind: 'open', rate: 100 }),
      hotSeat: hot(1, 998, 2500),
    },
    monolith: {
      pay: phase(600, 10, { cpu: { msPerOp: { service: 1.0, database: 1.2 }, machineCores: 1.8 } }),
      reserve: phase(900, 5),
      payAt: {
        saga: phase(150, 5, { kind: 'open', rate: 150 }),
        xa: phase(100, 5, { kind: 'open', rate: 100 }),
      },
    },
    'raw-saga': {
      pay: phase(600, 20, {
        cpu: { msPerOp: { database: 1.5, client: 1 }, machineCores: 1.8 },
      }),
      reserve: phase(900, 10),
    },
    'raw-xa': { pay: phase(500, 25), reserve: phase(800, 12) },
    bare: { statusPoll: phase(10_000, 1) },
    'bare-grpc': {
      grpcCall: phase(4000, 4, {
        cpu: { msPerOp: { service: 0.15, client: 0.25 }, machineCores: 1.6 },
      }),
    },
  };
  return {
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:10:00.000Z',
    smoke: false,
    machine: { cpuModel: 'Test CPU', cpus: 2 },
    settings: {
      users: 24,
      phase: '20 s',
      warmup: '3 s',
      hotSeat: 1000,
      topology: 'one',
      processes: 2,
    },
    systems,
    targets: targets(systems),
    checks: checks(systems, [{ name: 'saga audit: all good', ok: true, detail: 'ok' }]),
  };
}

describe('bench targets and checks', () => {
  it('computes each target as a ratio of this run and says whether it is met', () => {
    const t = Object.fromEntries(targets(results().systems).map((x) => [x.id, x]));
    expect(t['pay-saga-vs-monolith']).to.deep.include({ value: 0.5, ok: true, threshold: 0.25 });
    expect(t['pay-xa-vs-monolith']).to.deep.include({ value: 0.333, ok: true, threshold: 0.2 });
    // 6.1 ms of the saga's processes against 1.0 of the monolith's; xa's CPU was not measured.
    expect(t['cpu-saga-vs-monolith']).to.deep.include({ value: 6.1, ok: false, threshold: 5 });
    expect(t['cpu-xa-vs-monolith']).to.deep.include({ value: null, ok: null, threshold: 6 });
    expect(t['pay-saga-vs-raw']).to.deep.include({ value: 0.5, ok: false });
    expect(t['pay-xa-vs-raw']).to.deep.include({ value: 0.4, ok: false });
    // p99 = 2 × p50: saga 40 ms vs monolith 10 ms at the same rate.
    expect(t['p99-saga-half-peak']).to.deep.include({ value: 4, ok: false, op: '<=' });
    expect(t['hot-seat-saga']).to.deep.include({ value: 1500, ok: true });
    // Answered in time, but one hold answered neither 201 nor 409: not met.
    expect(t['hot-seat-xa']).to.deep.include({ value: 2500, ok: false });
    expect(t['status-poll-vs-bare']).to.deep.include({ value: 0.3, ok: false });
  });

  it('reports a target as not measured when a side of its ratio is missing', () => {
    const t = targets({ saga: { pay: phase(300, 60) } });
    expect(t.find((x) => x.id === 'pay-saga-vs-monolith')).to.deep.include({
      value: null,
      ok: null,
    });
  });

  it('fails a check for any failed operation or a hot seat without exactly one winner', () => {
    const r = results();
    r.systems.saga!.pay!.failed = 2;
    r.systems.saga!.pay!.errors = { '500 INTERNAL': 2 };
    const failed = checks(r.systems, []).filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).to.deep.equal([
      'saga pay: every operation succeeded',
      'xa hot seat: exactly one 201, every other hold 409',
    ]);
    expect(failed[0].detail).to.contain('2 × 500 INTERNAL');
  });
});

describe('the floor under a Pay', () => {
  it("adds the calls at the bare call's CPU to the raw shape's statements", () => {
    // saga: 7 calls × (0.15 + 0.25) ms + (1.5 + 1) ms = 5.3 ms → 2 cores do at most 377 Pay/s.
    expect(payFloors(results().systems, 2)).to.deep.equal([
      {
        mode: 'saga',
        calls: 7,
        callMs: 0.4,
        statementsMs: 2.5,
        floorMs: 5.3,
        ceiling: 377,
        targetVsMonolith: 150,
        targetVsRaw: 360,
      },
    ]);
  });

  it("is not computed without the bare call, the calls per Pay or the raw shape's CPU", () => {
    const r = results();
    delete r.systems['bare-grpc'];
    expect(payFloors(r.systems, 2)).to.deep.equal([]);
    // xa: no calls counted (a split mesh) and no CPU for its raw shape.
    expect(payFloors(results().systems, 2).map((f) => f.mode)).to.deep.equal(['saga']);
  });
});

describe('bench report', () => {
  it('writes every section with absolute numbers, ratios and ✓/✗', () => {
    const md = markdown(results());
    expect(md).to.contain('# Bench run 2026-01-01T00:00:00.000Z');
    expect(md).to.contain('mesh topology "one" on 2 process(es), the monolith on as many workers.');
    expect(md).to.contain(
      '| Pay throughput, saga / monolith | 0.50 (300 / 600 flows/s) | ≥ 0.25 | ✓ |',
    );
    expect(md).to.contain(
      '| saga (gateway) | 500 | 30 | 45 | 60 | 300 | 60 | 90 | 120 | 0.50× | 0.50× |',
    );
    expect(md).to.contain("| monolith at saga's rate | 150 | 150 | 5 | 7.5 | 10 | 15 | 1.00× |");
    expect(md).to.contain('| xa | 1000 | 1 | 998 | 0 | 300 | 600 | 2500 |');
    expect(md).to.contain('| bare node:http | 10000 | 1 | 1.5 | 2 | 1.00× |');
    expect(md).to.contain('## CPU per operation at peak (ms, from /proc)');
    expect(md).to.contain('| saga (gateway) | - | - | - | - | 6.1 | 3.2 | 0.3 | 0.4 | 1.7 |');
    expect(md).to.contain('| 4000 | 4 | 6 | 8 | 0.15 | 0.25 | 0.40 |');
    expect(md).to.contain('| saga | 7 | 2.80 | 2.50 | 5.30 | 377 | 150 | 360 |');
    expect(md).to.contain(
      '- ✗ xa hot seat: exactly one 201, every other hold 409: 1 × 201, 998 × 409',
    );
  });

  it('draws an SVG chart with a panel per measure and escaped text', () => {
    const svg = chart(results());
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).to.equal(true);
    expect(svg.trimEnd().endsWith('</svg>')).to.equal(true);
    for (const title of ['Peak throughput', 'Pay latency at peak', 'Reserve latency', 'half of'])
      expect(svg).to.contain(title);
    expect(svg).to.not.contain('NaN');
    expect(escapeXml(`a<b & "c">`)).to.equal('a&lt;b &amp; &quot;c&quot;&gt;');
  });

  it('rounds axis maxima up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect([0, 0.7, 3, 240, 251, 999, 1001].map(niceMax)).to.deep.equal([
      1, 1, 5, 250, 500, 1000, 2000,
    ]);
  });
});

describe('progress bar', () => {
  it('draws a bar on a terminal and only the result lines elsewhere', () => {
    let t = 0;
    const tty: string[] = [];
    const live = new Progress(
      { isTTY: true, columns: 200, write: (s) => tty.push(s) > 0 },
      () => t,
    );
    live.start('saga pay');
    live.update(0.5, 'ok=10');
    t += 50;
    live.update(0.6, 'ok=12'); // too soon to redraw
    live.done('[bench] saga pay: 10/s');
    expect(tty[0]).to.contain(bar(0.5, 'saga pay', 'ok=10'));
    expect(tty).to.have.length(3);
    expect(tty[2]).to.equal('[bench] saga pay: 10/s\n');

    const piped: string[] = [];
    const quiet = new Progress({ isTTY: false, write: (s) => piped.push(s) > 0 });
    quiet.start('saga pay');
    quiet.update(0.5, 'ok=10');
    quiet.done('[bench] saga pay: 10/s');
    expect(piped).to.deep.equal(['[bench] saga pay: 10/s\n']);
  });

  it('fills the bar in proportion and clamps it', () => {
    expect(bar(0.5, 'x', 'y')).to.equal('[############------------]  50% x y');
    expect(bar(2, 'x', '')).to.equal('[########################] 100% x');
    expect(bar(Number.NaN, 'x', '')).to.equal('[------------------------]   0% x');
  });
});
