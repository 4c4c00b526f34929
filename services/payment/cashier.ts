// The payment's use cases. Each transactional one runs as a branch through the participant
// (XA branch, saga action behind the barrier, or local transaction) and is one conditional
// statement; only a refused update is followed by a read, which only explains the refusal.
import type { TxContext } from '../../lib/participant/context';
import { isDuplicateKey, type Database } from '../../lib/db';
import { DomainError } from '../../lib/errors';
import type { Participant } from '../../lib/participant/participant';
import * as rows from './data/payments';
import type { PaymentRecord } from './data/payments';
import {
  assertPayable,
  paymentCompleted,
  paymentNotFound,
  refundRefusal,
  type PaymentInput,
  type PaymentStatusName,
} from './domain/payment';

/**
 * A payment as the contract shows it. JSON-safe on purpose: a saga action's result is stored
 * as JSON by the barrier and handed back to duplicates and to the compensation.
 */
export interface PaymentView {
  paymentId: string;
  reservationId: string;
  userId: string;
  amount: number;
  status: PaymentStatusName;
  paidAt: string;
  refundedAt?: string;
}

export interface RecordedPayment {
  payment: PaymentView;
}

export class Cashier {
  constructor(
    private readonly db: Database,
    private readonly participant: Participant,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Pay: records a PAID payment under the id the coordinator minted, with PaymentCompleted. */
  async record(branch: TxContext | undefined, input: PaymentInput): Promise<RecordedPayment> {
    assertPayable(input);
    return this.participant.action(branch, async (tx) => {
      const paidAt = this.clock();
      try {
        await rows.insertPaid(tx, input, paidAt);
      } catch (err) {
        // Ids are minted once per flow, so an existing row belongs to another transaction.
        if (isDuplicateKey(err)) {
          throw new DomainError('BRANCH_REFUSED', `payment ${input.paymentId} already exists`);
        }
        throw err;
      }
      await tx.emit(paymentCompleted(input, paidAt));
      const recorded: PaymentRecord = {
        id: input.paymentId,
        reservationId: input.reservationId,
        userId: input.userId,
        amount: input.amount,
        status: 'PAID',
        paidAt,
        refundedAt: null,
      };
      return { payment: view(recorded) };
    });
  }

  /** Compensation of record: the payment it recorded is voided, if still PAID. */
  voidPayment(branch: TxContext | undefined): Promise<void> {
    return this.participant.compensate<RecordedPayment>(branch, async (tx, recorded) => {
      await rows.voidPaid(tx, recorded.payment.paymentId, this.clock());
      // The payment never happened: its PaymentCompleted must not reach anyone as a fact.
      await tx.retract('PaymentCompleted', recorded.payment.paymentId);
    });
  }

  /** Refund: the payer's PAID → REFUNDED; answers what the rest of the flow needs. */
  refund(
    branch: TxContext | undefined,
    paymentId: string,
    caller: string,
  ): Promise<RecordedPayment> {
    return this.participant.action(
      branch,
      async (tx) => {
        if (!(await rows.refund(tx, paymentId, caller, this.clock()))) {
          throw refundRefusal(paymentId, await rows.findPayment(tx, paymentId), caller);
        }
        const p = await rows.findPayment(tx, paymentId);
        if (!p) throw new Error(`payment ${paymentId} vanished inside its own transaction`);
        return { payment: view(p) };
      },
      // Another transaction holds the row (a concurrent refund): only what the row says now
      // refuses; a payment still PAID may be refunded by trying again.
      {
        explainContention: async (reads) => {
          const p = await rows.findPayment(reads, paymentId);
          return p?.status === 'PAID' ? undefined : refundRefusal(paymentId, p, caller);
        },
      },
    );
  }

  /** Any payment by id, whatever its state (an internal lookup). */
  async get(paymentId: string): Promise<PaymentView> {
    const p = await rows.findPayment(this.db, paymentId);
    if (!p) throw paymentNotFound(paymentId);
    return view(p);
  }
}

function view(p: PaymentRecord): PaymentView {
  return {
    paymentId: p.id,
    reservationId: p.reservationId,
    userId: p.userId,
    amount: p.amount,
    status: p.status,
    paidAt: p.paidAt.toISOString(),
    refundedAt: p.refundedAt?.toISOString(),
  };
}
