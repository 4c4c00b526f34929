// How the coordinator runs every global transaction (TX_MODE): XA two-phase commit across the
// participants' databases, or a saga of local transactions with compensations.
export const TX_MODES = ['saga', 'xa'] as const;

export type TxMode = (typeof TX_MODES)[number];
