import { expect } from 'chai';
import { createLogger } from '../log';
import { Metrics } from '../metrics/registry';
import { insertEvent } from '../participant/outbox';
import { PARTICIPANT_MIGRATIONS } from '../participant/migrations';
import {
  testDatabase,
  testVhost,
  type TestDatabase,
  type TestVhost,
} from '../../test/support/infra';
import { freePort } from '../../test/support/mesh';
import { valueOf } from '../../test/support/metrics';
import { TcpProxy } from '../../test/support/proxy';
import { Broker } from './broker';
import { EventConsumer } from './consumer';
import { listParked, replayParked } from './dlq';
import type { EventEnvelope } from './envelope';
import { OutboxRelay } from './relay';

const log = createLogger('silent');
const until = async (ok: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('outbox relay and consumers (real MariaDB and RabbitMQ)', function () {
  this.timeout(60_000);
  let t: TestDatabase;
  let vhost: TestVhost;
  let proxy: TcpProxy;
  let broker: Broker;
  let relay: OutboxRelay;
  const exchange = 'boxoffice.events';
  const metrics = new Metrics({ defaultMetrics: false });
  const gauge = async (name: string, labels: Record<string, string>) =>
    valueOf(await metrics.text(), name, labels);

  before(async () => {
    t = await testDatabase('point', PARTICIPANT_MIGRATIONS);
    vhost = await testVhost();
    const target = new URL(vhost.url);
    proxy = new TcpProxy(await freePort(), {
      host: target.hostname,
      port: Number(target.port || 5672),
    });
    await proxy.open();
    target.host = `127.0.0.1:${proxy.port}`;
    broker = new Broker({ url: target.toString(), exchange }, log);
    relay = new OutboxRelay(
      t.db,
      broker,
      { batch: 50, pollMs: 50, lingerMs: 5, maxBackoffMs: 200 },
      log,
    );
    relay.registerMetrics(metrics, 'point');
  });
  after(async () => {
    await relay.stop();
    await broker.close();
    await proxy.close();
    await vhost.drop();
    await t.drop();
  });

  const emit = (type: string, n: number) =>
    t.db.transaction(async (tx) => {
      for (let i = 0; i < n; i++)
        await insertEvent(
          tx,
          { type, version: 1, aggregateId: `a${i}`, payload: { i } },
          new Date(),
        );
    });

  it('publishes committed rows oldest first and marks them sent', async () => {
    const seen: EventEnvelope[] = [];
    const consumer = new EventConsumer(
      broker,
      {
        queue: 'test.order',
        events: ['Ordered'],
        retryDelaysMs: [50],
        prefetch: 1,
        handle: async (e) => void seen.push(e),
      },
      log,
    );
    consumer.start();
    await new Promise((r) => setTimeout(r, 300)); // queue bound before anything is published
    await emit('Ordered', 30);
    relay.start();
    await until(() => seen.length === 30);
    expect(seen.map((e) => e.payload.i)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i));
    expect(seen[0]).to.include({ type: 'Ordered', version: 1, aggregateId: 'a0' });
    expect((await relay.backlog()).unsent).to.equal(0);
    await consumer.stop();
  });

  it('retries a failing handler with growing delays, parks it, and replays it once', async () => {
    const attempts: number[] = [];
    let failing = true;
    const handled: string[] = [];
    const consumer = new EventConsumer(
      broker,
      {
        queue: 'test.flaky',
        events: ['Flaky'],
        retryDelaysMs: [50, 100],
        prefetch: 4,
        handle: async (e) => {
          attempts.push(Date.now());
          if (failing) throw new Error('downstream says no');
          handled.push(e.eventId);
        },
      },
      log,
    );
    consumer.registerMetrics(metrics);
    consumer.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(await gauge('dlq_parked_messages', { queue: 'test.flaky' })).to.equal(0);
    await emit('Flaky', 1);
    relay.wake();
    await until(async () => (await listParked(broker, 'test.flaky')).length === 1);
    expect(attempts).to.have.length(3);
    expect(await gauge('dlq_parked_messages', { queue: 'test.flaky' })).to.equal(1);
    const [parked] = await listParked(broker, 'test.flaky');
    expect(parked).to.include({ type: 'Flaky', attempts: 3, lastError: 'downstream says no' });
    expect(await listParked(broker, 'test.flaky')).to.have.length(1); // listing removes nothing
    failing = false;
    expect(await replayParked(broker, 'test.flaky')).to.equal(1);
    await until(() => handled.length === 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(handled).to.deep.equal([parked.eventId]);
    expect(await listParked(broker, 'test.flaky')).to.have.length(0);
    expect(await gauge('dlq_parked_messages', { queue: 'test.flaky' })).to.equal(0);
    await consumer.stop();
    // A stopped consumer's series goes with it.
    expect(await gauge('dlq_parked_messages', { queue: 'test.flaky' })).to.equal(undefined);
  });

  it('keeps events in the outbox while the broker is unreachable and drains it after', async () => {
    const seen = new Set<string>();
    const consumer = new EventConsumer(
      broker,
      {
        queue: 'test.outage',
        events: ['Outage'],
        retryDelaysMs: [50],
        prefetch: 8,
        handle: async (e) => void seen.add(e.eventId),
      },
      log,
    );
    consumer.registerMetrics(metrics);
    consumer.start();
    await new Promise((r) => setTimeout(r, 300));
    expect(await gauge('dlq_parked_messages', { queue: 'test.outage' })).to.equal(0);
    await proxy.close();
    await emit('Outage', 20);
    relay.wake();
    await new Promise((r) => setTimeout(r, 500));
    expect((await relay.backlog()).unsent).to.equal(20);
    // The outbox gauges show the backlog; the parked queue, unreachable, is left out at once.
    const started = Date.now();
    const text = await metrics.text();
    expect(Date.now() - started).to.be.lessThan(1500);
    expect(valueOf(text, 'outbox_unsent_events', { service: 'point' })).to.equal(20);
    expect(valueOf(text, 'outbox_lag_seconds', { service: 'point' })).to.be.greaterThan(0.3);
    expect(valueOf(text, 'dlq_parked_messages', { queue: 'test.outage' })).to.equal(undefined);
    await proxy.open();
    await until(() => seen.size === 20, 20_000);
    expect((await relay.backlog()).unsent).to.equal(0);
    expect(await gauge('outbox_unsent_events', { service: 'point' })).to.equal(0);
    expect(await gauge('outbox_lag_seconds', { service: 'point' })).to.equal(0);
    await consumer.stop();
  });
});
