// Calls on a mux stream against a real GrpcServer in this process: each is the same call as its
// unary form (answer, refusal, access, metric), and a stream that breaks, a deadline that passes
// or a server that stops fail the calls as a lost unary call would.
import { expect } from 'chai';
import { Client, credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { DomainError } from '../errors';
import { createLogger } from '../log';
import { Metrics } from '../metrics/registry';
import { PROTO_FILES } from '../paths';
import { freePort } from '../../ops/isolation';
import { TcpProxy } from '../../test/support/proxy';
import { phaseTwoContext } from '../../test/support/tx';
import { writeTxContext } from '../participant/context';
import { CALLER_METADATA } from '../trust/caller';
import { keysFromSecret, type IdentityName } from '../trust/keys';
import { Trust } from '../trust/trust';
import { ParticipantServiceService } from '../../gen/boxoffice/participant/v1/participant';
import { ChannelPool, type Transport } from './client';
import { MuxChannel } from './mux';
import { bindService, GrpcServer } from './server';
import { errorDetail } from './status';

const trust = new Trust(keysFromSecret('mux-test-secret'));
const log = createLogger('silent');

/** Commit answers after `delays[gid]` ms; Rollback refuses as a participant would. */
const delays = new Map<string, number>();
let commits = 0;
/** The gids whose Commit handler has finished. */
const answered = new Set<string>();

function participantServer(port = 0, metrics?: Metrics): GrpcServer {
  return new GrpcServer({
    name: 'fake-participant',
    host: '127.0.0.1',
    port,
    services: [
      bindService('boxoffice.participant.v1.ParticipantService', ParticipantServiceService, {
        async commit(req, ctx) {
          commits += 1;
          await new Promise((r) => setTimeout(r, delays.get(req.gid) ?? 0));
          answered.add(req.gid);
          ctx.setHeader('x-committed', req.gid);
          return {};
        },
        async rollback(req) {
          throw new DomainError('INVALID_ARGUMENT', `no branch ${req.branchId}`, {
            field: 'branchId',
          });
        },
      }),
    ],
    protoFiles: [PROTO_FILES.participant],
    trust,
    log,
    ready: async () => true,
    metrics,
    mux: { callers: ['coordinator'] },
  });
}

describe('calls on a mux stream', function () {
  this.timeout(20_000);
  let server: GrpcServer;
  let port = 0;
  const metrics = new Metrics();
  const pools: ChannelPool[] = [];

  function client(transport: Transport, as: IdentityName = 'coordinator', deadlineMs = 2000) {
    const pool = new ChannelPool(deadlineMs);
    pools.push(pool);
    return pool.client(
      ParticipantServiceService,
      `127.0.0.1:${port}`,
      trust.signer(as),
      deadlineMs,
      transport,
    );
  }
  const call = (gid: string, op: 'commit' | 'rollback' = 'commit') => ({
    metadata: writeTxContext(phaseTwoContext(gid, 'b1', op), trust.txKey!),
  });
  const commitPath = ParticipantServiceService.commit.path;
  const commitRequest = (gid: string) =>
    ParticipantServiceService.commit.requestSerialize({ gid, branchId: 'b1' });
  const caller = (as: IdentityName) => {
    const md = new Metadata();
    md.set(CALLER_METADATA, trust.signer(as).token());
    return md;
  };
  /** A call's metadata as the coordinator's ChannelPool sends it: its identity, the context. */
  const signedCall = (gid: string) =>
    writeTxContext(phaseTwoContext(gid, 'b1', 'commit'), trust.txKey!, caller('coordinator'));

  async function failure(p: Promise<unknown>): Promise<ServiceError> {
    try {
      await p;
    } catch (err) {
      return err as ServiceError;
    }
    throw new Error('expected the call to fail');
  }

  before(async () => {
    server = participantServer(0, metrics);
    port = await server.start();
  });
  after(async () => {
    for (const p of pools) p.close();
    await server.stop(100);
  });

  it('answers many concurrent calls on one stream, counted as the unary ones are', async () => {
    const mux = client('mux');
    const before = commits;
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        mux.commit({ gid: `g${i}`, branchId: 'b1' }, call(`g${i}`)),
      ),
    );
    expect(answers).to.have.length(50);
    expect(commits - before).to.equal(50);
    const text = await metrics.text();
    expect(text).to.match(
      /grpc_server_duration_seconds_count\{service="fake-participant",method="Commit",code="OK"\} 50/,
    );
  });

  it('gives a refusal exactly as the unary call does', async () => {
    const [viaMux, viaUnary] = await Promise.all([
      failure(client('mux').rollback({ gid: 'g', branchId: 'b9' }, call('g', 'rollback'))),
      failure(client('unary').rollback({ gid: 'g', branchId: 'b9' }, call('g', 'rollback'))),
    ]);
    expect(errorDetail(viaMux)).to.deep.equal(errorDetail(viaUnary));
    expect(errorDetail(viaMux)).to.include({
      code: Status.INVALID_ARGUMENT,
      reason: 'INVALID_ARGUMENT',
    });
  });

  it('checks each call against its RPC’s access, and the stream against its own', async () => {
    // No transaction context: the RPC needs one.
    const noTx = await failure(client('mux').commit({ gid: 'g', branchId: 'b1' }));
    expect(errorDetail(noTx)).to.include({ code: Status.UNAUTHENTICATED });
    // The proto admits the gateway to open streams too, but this server narrows it to the
    // coordinator: the gateway's calls are refused, not lost.
    const gateway = await failure(
      client('mux', 'gateway').commit({ gid: 'g', branchId: 'b1' }, call('g')),
    );
    expect(gateway.code).to.equal(Status.PERMISSION_DENIED);
  });

  it('fails a call past its deadline and keeps the stream for the next', async () => {
    const mux = client('mux', 'coordinator', 300);
    delays.set('slow', 1000);
    const late = await failure(mux.commit({ gid: 'slow', branchId: 'b1' }, call('slow')));
    expect(late.code).to.equal(Status.DEADLINE_EXCEEDED);
    await mux.commit({ gid: 'quick', branchId: 'b1' }, call('quick'));
  });

  /** A stream of the coordinator's, used bare (as the gateway's Upstream uses one). */
  async function withMux(use: (mux: MuxChannel) => Promise<void>): Promise<void> {
    const raw = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
    const mux = new MuxChannel(raw, () => caller('coordinator'), `127.0.0.1:${port}`);
    try {
      await use(mux);
    } finally {
      mux.close();
      raw.close();
    }
  }

  it("gives the handler's headers with the answer", () =>
    withMux(async (mux) => {
      const { headers } = await mux.call(commitPath, commitRequest('h1'), signedCall('h1'), 2000);
      expect(headers.get('x-committed')).to.deep.equal(['h1']);
    }));

  it('fails a cancelled call at once as CANCELLED, drops its late answer, keeps the stream', () =>
    withMux(async (mux) => {
      delays.set('gone', 300);
      const before = commits;
      const abort = new AbortController();
      const gone = failure(
        mux.call(commitPath, commitRequest('gone'), signedCall('gone'), 2000, abort.signal),
      );
      await new Promise((r) => setTimeout(r, 50));
      abort.abort();
      expect((await gone).code).to.equal(Status.CANCELLED);
      // Failed before the server answered, which is not told: it runs the call to its end, and
      // its answer is dropped.
      expect(answered.has('gone')).to.equal(false);
      await new Promise((r) => setTimeout(r, 400));
      expect(answered.has('gone')).to.equal(true);
      expect(commits - before).to.equal(1);
      const { headers } = await mux.call(
        commitPath,
        commitRequest('next'),
        signedCall('next'),
        2000,
      );
      expect(headers.get('x-committed')).to.deep.equal(['next']);
      // Aborted before it is sent: never sent.
      const never = await failure(
        mux.call(commitPath, commitRequest('never'), signedCall('never'), 2000, abort.signal),
      );
      expect(never.code).to.equal(Status.CANCELLED);
      await new Promise((r) => setTimeout(r, 50));
      expect(commits - before).to.equal(2);
    }));

  it('fails the calls of a stream that breaks as UNAVAILABLE, then opens a new one', async () => {
    const proxy = new TcpProxy(await freePort(), { host: '127.0.0.1', port });
    await proxy.open();
    const pool = new ChannelPool(5000);
    pools.push(pool);
    const mux = pool.client(
      ParticipantServiceService,
      `127.0.0.1:${proxy.port}`,
      trust.signer('coordinator'),
      5000,
      'mux',
    );
    delays.set('cut', 1000);
    const inFlight = failure(mux.commit({ gid: 'cut', branchId: 'b1' }, call('cut')));
    await new Promise((r) => setTimeout(r, 100));
    await proxy.close();
    expect((await inFlight).code).to.equal(Status.UNAVAILABLE);
    // The peer reachable again: the next call opens a new stream.
    await proxy.open();
    await mux.commit({ gid: 'after', branchId: 'b1' }, call('after'));
    await proxy.close();
  });

  it('lets a stopping server answer the calls in flight, then end its streams at once', async () => {
    const other = participantServer();
    const otherPort = await other.start();
    const pool = new ChannelPool(5000);
    pools.push(pool);
    const mux = pool.client(
      ParticipantServiceService,
      `127.0.0.1:${otherPort}`,
      trust.signer('coordinator'),
      5000,
      'mux',
    );
    await mux.commit({ gid: 'open', branchId: 'b1' }, call('open'));
    delays.set('last', 300);
    const last = mux.commit({ gid: 'last', branchId: 'b1' }, call('last'));
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await other.stop(10_000);
    // Not held for the grace period by the open stream.
    expect(Date.now() - started).to.be.below(2_000);
    expect(await last).to.deep.equal({});
    expect(
      (await failure(mux.commit({ gid: 'gone', branchId: 'b1' }, call('gone')))).code,
    ).to.equal(Status.UNAVAILABLE);
  });
});
