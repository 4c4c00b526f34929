// Payment rows. A payment changes state by ONE conditional UPDATE on the state it expects,
// whose affected-row count is the answer; each sets a new status, so a matched row (what
// mysql2 reports) is a changed row. Statements take the Sql of the branch they run in.
import type { Sql } from '../../../lib/db';
import type { PaymentInput, PaymentStatusName } from '../domain/payment';

export interface PaymentRecord {
  id: string;
  reservationId: string;
  userId: string;
  amount: number;
  status: PaymentStatusName;
  paidAt: Date;
  refundedAt: Date | null;
}

interface PaymentRow {
  id: string;
  reservation_id: string;
  user_id: string;
  amount: number | string;
  status: PaymentStatusName;
  paid_at: Date;
  refunded_at: Date | null;
}

export async function insertPaid(sql: Sql, p: PaymentInput, paidAt: Date): Promise<void> {
  await sql.execute(
    `INSERT INTO payment (id, reservation_id, user_id, amount, status, paid_at, refunded_at, updated_at)
     VALUES (?, ?, ?, ?, 'PAID', ?, NULL, ?)`,
    [p.paymentId, p.reservationId, p.userId, p.amount, paidAt, paidAt],
  );
}

/** PAID → VOIDED: the payment never took effect. */
export async function voidPaid(sql: Sql, id: string, now: Date): Promise<boolean> {
  const res = await sql.execute(
    `UPDATE payment SET status = 'VOIDED', updated_at = ? WHERE id = ? AND status = 'PAID'`,
    [now, id],
  );
  return res.affectedRows === 1;
}

/** The payer's PAID → REFUNDED. */
export async function refund(sql: Sql, id: string, userId: string, now: Date): Promise<boolean> {
  const res = await sql.execute(
    `UPDATE payment SET status = 'REFUNDED', refunded_at = ?, updated_at = ?
     WHERE id = ? AND user_id = ? AND status = 'PAID'`,
    [now, now, id, userId],
  );
  return res.affectedRows === 1;
}

export async function findPayment(sql: Sql, id: string): Promise<PaymentRecord | undefined> {
  const [r] = await sql.query<PaymentRow>(
    `SELECT id, reservation_id, user_id, amount, status, paid_at, refunded_at
     FROM payment WHERE id = ?`,
    [id],
  );
  return (
    r && {
      id: r.id,
      reservationId: r.reservation_id,
      userId: r.user_id,
      amount: Number(r.amount),
      status: r.status,
      paidAt: r.paid_at,
      refundedAt: r.refunded_at,
    }
  );
}
