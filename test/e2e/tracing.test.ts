// One trace per request across every hop: the mesh runs as four processes exporting OTLP to a
// receiver in the test; a Pay's trace must cover the gateway, the coordinator's decision, every
// branch with its SQL, and the events it caused being consumed later.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { startMesh, type Mesh } from '../support/mesh';
import { OtlpReceiver, type CollectedSpan } from '../support/otlp';
import { Person, createConcert, eventually, isoDay, auditAndDestroy } from '../support/people';

const SERVER = 2; // SpanKind.SERVER in OTLP

function payRequestSpan(spans: CollectedSpan[], after: number): CollectedSpan | undefined {
  return spans
    .slice(after)
    .find(
      (s) =>
        s.service === 'boxoffice-gateway' &&
        s.kind === SERVER &&
        String(s.attributes['http.target'] ?? s.attributes['url.path'] ?? s.name).includes(
          '/api/v1/payments',
        ),
    );
}

/** Names of spans whose parent is not in the set. */
function orphans(spans: CollectedSpan[]): string[] {
  const ids = new Set(spans.map((s) => s.spanId));
  return spans.filter((s) => s.parentSpanId && !ids.has(s.parentSpanId)).map((s) => s.name);
}

function tree(spans: CollectedSpan[]): string {
  const byParent = new Map<string, CollectedSpan[]>();
  for (const s of spans) byParent.set(s.parentSpanId, [...(byParent.get(s.parentSpanId) ?? []), s]);
  const lines: string[] = [];
  // Siblings in the order they started: the exporter sends spans as they end, process by process.
  const started = (a: CollectedSpan, b: CollectedSpan) =>
    a.startTimeUnixNano < b.startTimeUnixNano
      ? -1
      : a.startTimeUnixNano > b.startTimeUnixNano
        ? 1
        : 0;
  const walk = (parent: string, depth: number) => {
    for (const s of [...(byParent.get(parent) ?? [])].sort(started)) {
      const tx = ['tx.branch', 'tx.phase']
        .map((k) => s.attributes[k])
        .filter(Boolean)
        .join(' ');
      lines.push(
        `${'  '.repeat(depth)}${s.service.replace('boxoffice-', '')}: ${s.name}${tx ? `  [${tx}]` : ''}`,
      );
      walk(s.spanId, depth + 1);
    }
  };
  walk('', 0);
  return lines.join('\n');
}

for (const mode of ['saga', 'xa'] as const) {
  describe(`tracing (TX_MODE=${mode})`, function () {
    this.timeout(180_000);
    const receiver = new OtlpReceiver();
    let mesh: Mesh;
    let concertId: string;
    const day = isoDay(8);
    let seat = 0;

    before(async () => {
      const endpoint = await receiver.start();
      mesh = await startMesh(
        {
          TX_MODE: mode,
          OTEL_TRACES_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
          OTEL_BSP_SCHEDULE_DELAY: '50',
          TX_TTL_MS: '4000',
          TX_RECOVERY_INTERVAL_MS: '200',
          COORDINATOR_ID: 'traced-coordinator',
        },
        [
          { name: 'gateway', services: 'gateway' },
          { name: 'coordinator', services: 'coordinator' },
          { name: 'participants', services: 'queue,concert,reservation,payment,point' },
          { name: 'events', services: 'dataplatform,dataplatform-mock' },
        ],
      );
      concertId = await createConcert(mesh, {
        title: `Traced ${mode}`,
        dates: [day],
        seatsPerDate: 20,
        price: 700,
      });
    });
    after(async () => {
      try {
        await auditAndDestroy(mesh);
      } finally {
        await receiver.stop();
      }
    });

    it('follows one payment through every hop in one trace, with correct parents and tx attributes', async () => {
      const p = await Person.join(mesh, `traced-${mode}`, 5000);
      const held = (await p.reserve(concertId, day, ++seat)).body;
      const mark = receiver.spans.length;
      expect((await p.pay(held.reservationId)).status).to.equal(201);
      const root = await eventually(
        async () => payRequestSpan(receiver.spans, mark),
        (s) => s !== undefined,
      );
      expect(root, 'the gateway span of POST /api/v1/payments').to.not.equal(undefined);
      const traceId = root!.traceId;
      const rpc = (service: string, method: string) => (s: CollectedSpan) =>
        s.service === service && s.kind === SERVER && s.name.endsWith(method);
      const expected = [
        rpc('boxoffice-coordinator', 'CoordinatorService/Pay'),
        rpc('boxoffice-queue+concert+reservation+payment+point', 'ReservationService/BeginPayment'),
        rpc('boxoffice-queue+concert+reservation+payment+point', 'PointService/UsePoints'),
        rpc('boxoffice-queue+concert+reservation+payment+point', 'PaymentService/RecordPayment'),
        rpc('boxoffice-queue+concert+reservation+payment+point', 'ConcertService/SellSeat'),
        rpc('boxoffice-queue+concert+reservation+payment+point', 'ReservationService/Confirm'),
        (s: CollectedSpan) =>
          s.service === 'boxoffice-dataplatform+dataplatform-mock' && s.traceId === traceId,
        ...(mode === 'xa'
          ? [rpc('boxoffice-queue+concert+reservation+payment+point', 'ParticipantService/Commit')]
          : []),
      ];
      // Each process exports in batches, so a child can arrive a batch before its parent: wait
      // for the trace to be whole, not just for the expected spans.
      const spans = await eventually(
        async () => receiver.trace(traceId),
        (ts) => expected.every((match) => ts.some(match)) && orphans(ts).length === 0,
        15_000,
      );
      const missing = expected.filter((match) => !spans.some(match)).length;
      expect(missing, tree(spans)).to.equal(0);

      // Parent links: every parent is in the trace, and the gateway's request span is the only root.
      expect(orphans(spans), tree(spans)).to.deep.equal([]);
      // docs/observability.md shows these trees: TRACE_TREES_DIR=docs/traces renders them anew.
      if (process.env.TRACE_TREES_DIR)
        writeFileSync(join(process.env.TRACE_TREES_DIR, `pay-${mode}.txt`), `${tree(spans)}\n`);
      expect(spans.filter((s) => !s.parentSpanId).map((s) => s.spanId)).to.deep.equal([
        root!.spanId,
      ]);

      // The coordinator's transaction and branch spans carry tx.* attributes.
      const txSpan = spans.find((s) => s.name === 'tx pay')!;
      expect(txSpan.attributes).to.include({
        'tx.mode': mode,
        'tx.flow': 'pay',
        'tx.outcome': 'committed',
      });
      expect(txSpan.attributes['tx.gid']).to.be.a('string');
      const branches = spans.filter((s) => s.attributes['tx.branch'] !== undefined);
      const phases = new Set(
        branches.map((s) => `${s.attributes['tx.branch']} ${s.attributes['tx.phase']}`),
      );
      const want =
        mode === 'saga'
          ? [
              'begin-payment action',
              'use-points action',
              'record-payment action',
              'sell-seat action',
              'confirm action',
            ]
          : [
              'begin-payment action',
              'use-points prepare',
              'record-payment prepare',
              'sell-seat prepare',
              'confirm prepare',
              'point commit',
              'reservation commit',
            ];
      for (const w of want) expect([...phases], tree(spans)).to.include(w);
      for (const b of branches)
        expect(b.attributes['tx.gid']).to.equal(txSpan.attributes['tx.gid']);

      // Every branch's server span runs SQL that shows up as its descendants.
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const underUse = spans.filter((s) => {
        // Stable semantic conventions (db.system.name); older instrumentations say db.system.
        if ((s.attributes['db.system.name'] ?? s.attributes['db.system']) !== 'mysql') return false;
        for (let cur = byId.get(s.parentSpanId); cur; cur = byId.get(cur.parentSpanId)) {
          if (cur.name.endsWith('PointService/UsePoints')) return true;
        }
        return false;
      });
      const statements = underUse.map((s) =>
        String(s.attributes['db.query.text'] ?? s.attributes['db.statement']),
      );
      expect(statements.join('\n'), tree(spans)).to.match(/UPDATE wallet/);

      // Logs written inside the request carry its trace id.
      await eventually(
        async () => readFileSync(mesh.logFile, 'utf8').includes(`"trace_id":"${traceId}"`),
        (found) => found,
      );
      const lines = readFileSync(mesh.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes(`"trace_id":"${traceId}"`));
      expect(lines.some((l) => l.includes('transaction finished'))).to.equal(true);
    });

    if (mode === 'saga') {
      it('shows the compensations of a refused payment as compensate spans', async () => {
        const p = await Person.join(mesh, `broke-${mode}`, 100);
        const held = (await p.reserve(concertId, day, ++seat)).body;
        const mark = receiver.spans.length;
        expect((await p.pay(held.reservationId)).status).to.equal(400);
        const root = await eventually(
          async () => payRequestSpan(receiver.spans, mark),
          (s) => s !== undefined,
        );
        const compensated = (ts: CollectedSpan[]) =>
          ts
            .filter((s) => s.attributes['tx.phase'] === 'compensate')
            .map((s) => String(s.attributes['tx.branch']))
            .sort();
        const spans = await eventually(
          async () => receiver.trace(root!.traceId),
          (ts) => compensated(ts).length >= 3,
        );
        // use-points refused on its only call and rolled itself back: nothing of it to undo;
        // record-payment and sell-seat ran beside it and are undone with begin-payment.
        expect(compensated(spans), tree(spans)).to.deep.equal([
          'begin-payment',
          'record-payment',
          'sell-seat',
        ]);
        expect(spans.find((s) => s.name === 'tx pay')!.attributes['tx.outcome']).to.equal(
          'INSUFFICIENT_POINTS',
        );
      });
    }

    it('links the trace of a transaction finished by recovery to the trace that started it', async () => {
      const p = await Person.join(mesh, `recovered-${mode}`, 5000);
      const held = (await p.reserve(concertId, day, ++seat)).body;
      await mesh.kill('coordinator');
      mesh.restart('coordinator', {
        FAILPOINTS:
          mode === 'xa' ? 'coordinator.xa.after-decision' : 'coordinator.saga.after-use-points',
      });
      await mesh.waitReady();
      const mark = receiver.spans.length;
      await p.pay(held.reservationId);
      await mesh.exited('coordinator');
      mesh.restart('coordinator', { FAILPOINTS: '' });
      await mesh.waitReady();
      const root = await eventually(
        async () => payRequestSpan(receiver.spans, mark),
        (s) => s !== undefined,
      );
      const recovery = await eventually(
        async () =>
          receiver.spans.find(
            (s) => s.name === 'tx recover pay' && s.links.some((l) => l.traceId === root!.traceId),
          ),
        (s) => s !== undefined,
        20_000,
      );
      expect(recovery, 'a recovery span linked to the request trace').to.not.equal(undefined);
      expect(recovery!.traceId).to.not.equal(root!.traceId);
      expect(recovery!.events.map((e) => e.name)).to.include('recovery');
    });
  });
}
