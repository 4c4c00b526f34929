import { randomBytes } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { expect } from 'chai';
import { DomainError } from '../errors';
import { writeTxContext } from '../participant/context';
import { CALLER_METADATA, CallerSigner, CallerVerifier } from '../trust/caller';
import { keysFromSecret, type IdentityName } from '../trust/keys';
import { accessRules, admit } from './access';
import { CONTRACT_FILES } from './protos';

describe('access rules', () => {
  const rules = accessRules(CONTRACT_FILES);
  const rule = (path: string) => rules.get(path)!;

  it('reads every RPC’s rule from its proto; "participant" stands for the four', () => {
    expect(rule('/boxoffice.point.v1.PointService/RefundPoints')).to.deep.equal({
      callers: new Set(['coordinator']),
      transaction: true,
      user: 'NO_USER',
    });
    expect(
      rule('/boxoffice.coordinator.v1.CoordinatorService/DecideOutcome').callers,
    ).to.deep.equal(new Set(['concert', 'reservation', 'payment', 'point', 'operator']));
    expect(rule('/boxoffice.concert.v1.ConcertService/CreateConcert').user).to.equal(
      'ADMIN_REQUIRED',
    );
  });

  describe('admitting a call', () => {
    const keys = keysFromSecret('mesh');
    const txKey = keys.txKey!;
    const verifier = new CallerVerifier(keys);
    const as = (id: IdentityName, user?: { userId: string; role: 'user' | 'admin' }) => {
      const md = new Metadata();
      md.set(CALLER_METADATA, new CallerSigner(keys, id).token(user));
      return md;
    };
    const reason = (path: string, md: Metadata): string => {
      try {
        admit(rule(path), 'Rpc', md, verifier, txKey);
        return 'ADMITTED';
      } catch (err) {
        return (err as DomainError).reason;
      }
    };
    const refund = '/boxoffice.point.v1.PointService/RefundPoints';
    const list = '/boxoffice.coordinator.v1.CoordinatorService/ListTransactions';
    const charge = '/boxoffice.point.v1.PointService/Charge';
    const ctx = {
      gid: 'g',
      branchId: 'point',
      mode: 'saga' as const,
      op: 'action' as const,
      prepare: false,
      expiresAt: Date.now() + 3_600_000,
    };

    it('admits the coordinator with a signed context, and hands the context on', () => {
      const md = writeTxContext(ctx, txKey, as('coordinator'));
      expect(admit(rule(refund), 'RefundPoints', md, verifier, txKey).tx).to.deep.equal(ctx);
    });

    it('refuses a branch call without identity, from another service, or without a context', () => {
      expect(reason(refund, new Metadata())).to.equal('UNAUTHENTICATED');
      expect(
        reason(refund, writeTxContext(ctx, txKey, as('gateway', { userId: 'u', role: 'admin' }))),
      ).to.equal('PERMISSION_DENIED');
      expect(reason(refund, as('coordinator'))).to.equal('UNAUTHENTICATED');
      expect(reason(refund, writeTxContext(ctx, randomBytes(32), as('coordinator')))).to.equal(
        'UNAUTHENTICATED',
      );
    });

    it('asks the gateway for the user an RPC needs, and an admin where it needs one', () => {
      expect(reason(charge, as('gateway', { userId: 'u', role: 'user' }))).to.equal('ADMITTED');
      expect(reason(charge, as('gateway'))).to.equal('UNAUTHENTICATED');
      expect(reason(list, as('gateway', { userId: 'u', role: 'user' }))).to.equal('ADMIN_ONLY');
      expect(reason(list, as('gateway', { userId: 'ops', role: 'admin' }))).to.equal('ADMITTED');
      expect(reason(list, as('operator'))).to.equal('ADMITTED');
      expect(reason(list, as('point'))).to.equal('PERMISSION_DENIED');
    });
  });
});
