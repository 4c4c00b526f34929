// Every RPC of every service, called directly on its port as an outsider would: with no caller
// identity, a forged one, an expired one, another service's, and — for branches and phase 2 —
// the coordinator's identity without a transaction context, with a forged one and an expired
// one. Each is refused before its handler runs, and nothing changes in any database or in Redis.
// The RPCs and who may call them are read from the protos' access options, so a new RPC is
// covered the day it is declared.
import { createHash } from 'node:crypto';
import { Client, credentials, Metadata, status as Status, type ServiceError } from '@grpc/grpc-js';
import { expect } from 'chai';
import Redis from 'ioredis';
import type * as protobuf from 'protobufjs';
import { DB_SERVICES, GRPC_SERVICES, loadConfig, type Config } from '../../lib/config';
import { serverConnection } from '../../lib/db';
import { accessRules, type AccessRule } from '../../lib/grpc/access';
import { CONTRACT_FILES, loadProtos } from '../../lib/grpc/protos';
import { MuxChannel } from '../../lib/grpc/mux';
import { errorDetail } from '../../lib/grpc/status';
import { MuxServiceService } from '../../gen/boxoffice/mux/v1/mux';
import { writeTxContext, type TxContext } from '../../lib/participant/context';
import { CALLER_METADATA, CallerSigner } from '../../lib/trust/caller';
import { IDENTITIES, keysFromSecret, type IdentityName } from '../../lib/trust/keys';
import type { Trust } from '../../lib/trust/trust';
import { startMesh, type Mesh } from '../support/mesh';

const PARTICIPANT_PORTS = ['concert', 'reservation', 'payment', 'point'] as const;

/** Requests that would move money, seats or tokens if they ran; the rest are sent empty. */
const HARMFUL: Record<string, Record<string, unknown>> = {
  RefundPoints: { user_id: 'victim', amount: 5000, reference: 'forged' },
  UsePoints: { user_id: 'victim', amount: 1, reference: 'forged' },
  RestorePoints: { reference: 'forged' },
  Charge: { amount: 5000 },
  HoldSeat: { concert_id: 'c', date: '2030-01-01', seat_number: 1, reservation_id: 'forged' },
  RecordPayment: { payment_id: 'forged', reservation_id: 'r', user_id: 'victim', amount: 1 },
  DecideOutcome: { gid: 'forged' },
  RetryTransaction: { gid: 'forged' },
  Expire: { reservation_id: 'forged' },
  EndToken: { user_id: 'victim' },
  CreateConcert: { title: 'forged', dates: ['2030-01-01'], price: 1 },
  Commit: { gid: 'forged', branch_id: 'point' },
  Rollback: { gid: 'forged', branch_id: 'point' },
};

interface Rpc {
  path: string;
  name: string;
  port: number;
  rule: AccessRule;
  request: Buffer;
}

for (const mode of ['saga', 'xa'] as const) {
  describe(`every internal RPC proves its caller (TX_MODE=${mode})`, function () {
    this.timeout(120_000);
    let mesh: Mesh;
    let config: Config;
    let trust: Trust;
    let rpcs: Rpc[];
    const clients = new Map<number, Client>();
    const streams = new Map<string, MuxChannel>();

    before(async () => {
      mesh = await startMesh({ TX_MODE: mode });
      config = loadConfig(mesh.env);
      trust = mesh.trust();
      rpcs = enumerate(config);
    });
    after(async () => {
      for (const m of streams.values()) m.close();
      for (const c of clients.values()) c.close();
      await mesh?.destroy();
    });

    function clientOf(port: number): Client {
      let client = clients.get(port);
      if (!client) {
        client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
        clients.set(port, client);
      }
      return client;
    }

    type Answer = { code: Status; reason: string };
    type Way = (rpc: Rpc, metadata: Metadata) => Promise<Answer>;

    /** The call as a unary gRPC call. */
    const call: Way = (rpc, metadata) => {
      const client = clientOf(rpc.port);
      return new Promise((resolve) => {
        client.makeUnaryRequest(
          rpc.path,
          (b: Buffer) => b,
          (b: Buffer) => b,
          rpc.request,
          metadata,
          { deadline: Date.now() + 5000 },
          (err: ServiceError | null) => {
            if (!err) return resolve({ code: Status.OK, reason: 'OK' });
            const d = errorDetail(err);
            resolve({ code: d.code, reason: d.reason });
          },
        );
      });
    };

    /** The same call on a server's call stream, opened by `opener`. */
    const onStream =
      (opener: () => Metadata, name = 'coordinator'): Way =>
      async (rpc, metadata) => {
        const key = `${rpc.port}:${name}`;
        let stream = streams.get(key);
        if (!stream) {
          stream = new MuxChannel(clientOf(rpc.port), opener, key);
          streams.set(key, stream);
        }
        try {
          await stream.call(rpc.path, rpc.request, metadata, 5000);
          return { code: Status.OK, reason: 'OK' };
        } catch (err) {
          const d = errorDetail(err as ServiceError);
          return { code: d.code, reason: d.reason };
        }
      };
    /** On the stream its rightful opener opens: the coordinator's to a participant, the gateway's. */
    const callOnStream: Way = (rpc, metadata) =>
      rpc.port === config.grpcPorts.coordinator
        ? onStream(() => signed('gateway'), 'gateway')(rpc, metadata)
        : onStream(() => signed('coordinator'))(rpc, metadata);
    /** Every way the RPC can be called: participants and the coordinator also take calls on a stream. */
    const waysOf = (rpc: Rpc): [string, Way][] =>
      participantPorts(config).has(rpc.port) || rpc.port === config.grpcPorts.coordinator
        ? [
            ['unary', call],
            ['on the stream', callOnStream],
          ]
        : [['unary', call]];

    const caller = (token: string) => {
      const md = new Metadata();
      md.set(CALLER_METADATA, token);
      return md;
    };
    const signed = (identity: IdentityName, user?: { userId: string; role: 'user' | 'admin' }) =>
      caller(trust.signer(identity).token(user));
    /** A valid call of one of the RPC's own callers (with a user where it needs one). */
    const rightful = (rule: AccessRule) => {
      const who = [...rule.callers][0];
      const user = who === 'gateway' ? { userId: 'victim', role: 'admin' as const } : undefined;
      return { who, md: () => signed(who, user) };
    };
    const context = (gid: string, expiresAt: number): TxContext => ({
      gid,
      branchId: 'point',
      mode,
      op: 'action',
      prepare: false,
      expiresAt,
    });

    it('refuses every RPC without a proof of its caller, and every one to the wrong caller', async () => {
      const before = await snapshot(config);
      const refusals: string[] = [];
      const expectRefused = async (rpc: Rpc, how: string, md: Metadata, code: Status) => {
        for (const [via, way] of waysOf(rpc)) {
          const got = await way(rpc, md);
          if (got.code !== code)
            refusals.push(`${rpc.name} ${how} (${via}): ${Status[got.code]} ${got.reason}`);
        }
      };
      for (const rpc of rpcs) {
        const { who } = rightful(rpc.rule);
        await expectRefused(rpc, 'with no identity', new Metadata(), Status.UNAUTHENTICATED);
        await expectRefused(rpc, 'with an empty identity', caller(''), Status.UNAUTHENTICATED);
        // Signed by a key of another mesh, claiming a rightful caller.
        const forger = new CallerSigner(keysFromSecret('not-this-mesh'), who);
        await expectRefused(
          rpc,
          'with a forged identity',
          caller(forger.token()),
          Status.UNAUTHENTICATED,
        );
        // Signed by the rightful key, but long expired.
        const past = new CallerSigner(trust.keys, who, () => Date.now() - 10 * 60_000);
        await expectRefused(
          rpc,
          'with an expired identity',
          caller(past.token()),
          Status.UNAUTHENTICATED,
        );
        // Another service's, valid: the gateway with an admin (for operator and branch RPCs) or
        // a participant (for the gateway's).
        const other = IDENTITIES.find((i) => !rpc.rule.callers.has(i))!;
        const user = other === 'gateway' ? { userId: 'victim', role: 'admin' as const } : undefined;
        await expectRefused(rpc, `as ${other}`, signed(other, user), Status.PERMISSION_DENIED);
        if (rpc.rule.transaction) {
          // The rightful caller, but no context, a context of another key, an expired one.
          await expectRefused(
            rpc,
            'without a transaction context',
            signed(who),
            Status.UNAUTHENTICATED,
          );
          const forgedCtx = writeTxContext(
            context('forged', Date.now() + 60_000),
            keysFromSecret('not-this-mesh').txKey!,
            signed(who),
          );
          await expectRefused(rpc, 'with a forged context', forgedCtx, Status.UNAUTHENTICATED);
          const expiredCtx = writeTxContext(
            context('late', Date.now() - 60_000),
            trust.txKey!,
            signed(who),
          );
          await expectRefused(rpc, 'with an expired context', expiredCtx, Status.UNAUTHENTICATED);
        }
        if (rpc.rule.user === 'USER_REQUIRED' || rpc.rule.user === 'ADMIN_REQUIRED') {
          await expectRefused(
            rpc,
            'from the gateway naming no user',
            signed('gateway'),
            Status.UNAUTHENTICATED,
          );
        }
        if (rpc.rule.user === 'ADMIN_REQUIRED') {
          const plain = signed('gateway', { userId: 'victim', role: 'user' });
          await expectRefused(
            rpc,
            'for a user who is not an admin',
            plain,
            Status.PERMISSION_DENIED,
          );
        }
      }
      expect(refusals, refusals.join('\n')).to.deep.equal([]);
      expect(await snapshot(config)).to.deep.equal(before);
    });

    /**
     * Everyone but `rightful` who would open a stream (nobody, a forger of `rightful`, other
     * identities), each with the refusal the stream's opening gets.
     */
    const wrongOpeners = (
      rightful: IdentityName,
      others: IdentityName[],
    ): [string, () => Metadata, Status][] => {
      const forger = new CallerSigner(keysFromSecret('not-this-mesh'), rightful);
      return [
        ['nobody', () => new Metadata(), Status.UNAUTHENTICATED],
        ['a forger', () => caller(forger.token()), Status.UNAUTHENTICATED],
        ...others.map((who): [string, () => Metadata, Status] => [
          who,
          () => signed(who),
          Status.PERMISSION_DENIED,
        ]),
      ];
    };

    it("opens a participant's call stream only for the coordinator", async () => {
      const before = await snapshot(config);
      const refund = rpcs.find((r) => r.name === 'RefundPoints')!;
      // A call the coordinator could make, carried on streams opened by anyone else.
      const md = writeTxContext(
        { ...context(`stream${Date.now()}`, Date.now() + 30_000), branchId: 'refund-points' },
        trust.txKey!,
        signed('coordinator'),
      );
      const openers = wrongOpeners('coordinator', ['gateway', 'operator', 'point']);
      for (const port of participantPorts(config)) {
        for (const [name, opener, code] of openers) {
          const got = await onStream(opener, name)({ ...refund, port }, md);
          expect(got.code, `opened by ${name} on ${port}`).to.equal(code);
        }
      }
      expect(await snapshot(config)).to.deep.equal(before);
    });

    it("opens the coordinator's call stream only for the gateway", async () => {
      const before = await snapshot(config);
      const pay = rpcs.find((r) => r.name === 'Pay')!;
      // A call the gateway could make for a user, carried on streams opened by anyone else.
      const md = signed('gateway', { userId: 'stream-user', role: 'user' });
      for (const [name, opener, code] of wrongOpeners('gateway', [
        'coordinator',
        'operator',
        'point',
      ])) {
        const got = await onStream(opener, name)(pay, md);
        expect(got.code, `opened by ${name}`).to.equal(code);
      }
      expect(await snapshot(config)).to.deep.equal(before);
    });

    it('covers every RPC the mesh serves, branches and phase 2 on every participant', () => {
      const names = new Set(rpcs.map((r) => r.name));
      for (const n of [
        'RefundPoints',
        'UsePoints',
        'HoldSeat',
        'RecordPayment',
        'Commit',
        'Rollback',
        'DecideOutcome',
        'ListTransactions',
        'Expire',
        'ValidateToken',
      ])
        expect(names, n).to.include(n);
      expect(rpcs.filter((r) => r.name === 'Commit').map((r) => r.port)).to.have.length(4);
      expect(rpcs.length).to.be.greaterThan(45);
    });

    it('lets the rightful caller through with a valid context, unary and on the stream: the refusals above are the checks', async () => {
      // RefundPoints from the coordinator, in a transaction: it credits (what an outsider could
      // do before: 5,000 points to anyone).
      const rpc = rpcs.find((r) => r.name === 'RefundPoints')!;
      for (const [via, way] of waysOf(rpc)) {
        const gid = `trust${via.length}${Date.now()}`;
        const md = writeTxContext(
          {
            ...context(gid, Date.now() + 30_000),
            branchId: mode === 'xa' ? 'point' : 'refund-points',
            prepare: mode === 'xa',
          },
          trust.txKey!,
          signed('coordinator'),
        );
        const before = await snapshot(config);
        expect(await way(rpc, md), via).to.deep.equal({ code: Status.OK, reason: 'OK' });
        if (mode === 'xa') {
          const commit = rpcs.find((r) => r.name === 'Commit' && r.port === rpc.port)!;
          const phase2 = writeTxContext(
            { ...context(gid, Date.now() + 30_000), op: 'commit' },
            trust.txKey!,
            signed('coordinator'),
          );
          const encoded = Buffer.from(
            loadProtos([...CONTRACT_FILES])
              .lookupType('boxoffice.participant.v1.CommitRequest')
              .encode({ gid, branch_id: 'point' })
              .finish(),
          );
          expect(await way({ ...commit, request: encoded }, phase2), via).to.deep.equal({
            code: Status.OK,
            reason: 'OK',
          });
        }
        expect(await snapshot(config), via).to.not.deep.equal(before);
      }
    });
  });
}

/** Every RPC with its access rule, on the port of the service that serves it. */
function enumerate(config: Config): Rpc[] {
  const root = loadProtos([...CONTRACT_FILES]);
  const rules = accessRules([...CONTRACT_FILES]);
  const out: Rpc[] = [];
  for (const [path, rule] of rules) {
    // The stream is no RPC of its own: the calls on it are (callOnStream).
    if (path === MuxServiceService.exchange.path) continue;
    const [service, name] = path.slice(1).split('/');
    const method = root.lookupService(service).methods[name];
    const type = root.lookupType(method.requestType);
    const request = encode(type, HARMFUL[name] ?? {});
    const ports =
      service === 'boxoffice.participant.v1.ParticipantService'
        ? PARTICIPANT_PORTS.map((p) => config.grpcPorts[p])
        : [config.grpcPorts[ownerOf(service)]];
    for (const port of ports) out.push({ path, name: name, port, rule, request });
  }
  return out;
}

function participantPorts(config: Config): Set<number> {
  return new Set(PARTICIPANT_PORTS.map((p) => config.grpcPorts[p]));
}

function ownerOf(service: string): (typeof GRPC_SERVICES)[number] {
  const owner = GRPC_SERVICES.find((s) => service === `boxoffice.${s}.v1.${cap(s)}Service`);
  if (!owner) throw new Error(`no port serves ${service}`);
  return owner;
}

const cap = (s: string) => s[0].toUpperCase() + s.slice(1);

function encode(type: protobuf.Type, value: Record<string, unknown>): Buffer {
  return Buffer.from(type.encode(type.fromObject(value)).finish());
}

/** Every table of every service database and every Redis key of the run, fingerprinted. */
async function snapshot(config: Config): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const conn = await serverConnection(config.db.concert);
  try {
    for (const svc of DB_SERVICES) {
      const db = config.db[svc].database;
      const [tables] = await conn.query(
        'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ? ORDER BY t',
        [db],
      );
      for (const { t } of tables as { t: string }[]) {
        const [rows] = await conn.query(`SELECT * FROM \`${db}\`.\`${t}\``);
        out[`${svc}.${t}`] = digest(JSON.stringify(rows));
      }
    }
  } finally {
    await conn.end();
  }
  const redis = new Redis(config.redis.url, { lazyConnect: true });
  try {
    await redis.connect();
    const keys = (await redis.keys(`${config.redis.keyPrefix}*`)).sort();
    for (const k of keys) out[`redis:${k}`] = digest(String(await redis.dump(k)));
  } finally {
    redis.disconnect();
  }
  return out;
}

function digest(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}
