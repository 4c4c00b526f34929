// The admin REST routes the console calls (docs/api.md, "Operators"), with the pasted admin
// token, and the shapes of their JSON answers.

export type TxStateName =
  | 'TX_STATE_UNSPECIFIED'
  | 'RUNNING'
  | 'COMMITTING'
  | 'ABORTING'
  | 'COMPENSATING'
  | 'COMMITTED'
  | 'ABORTED'
  | 'STUCK'
  | 'IN_DOUBT';

export interface Branch {
  branchId: string;
  participant: string;
  action: string;
  state: string;
  attempts: number;
  lastError: string;
  startedAt: string;
  endedAt: string;
}

export interface HistoryEntry {
  at: string;
  event: string;
  state: TxStateName;
  detail: string;
}

export interface OperatorAction {
  at: string;
  actor: string;
  action: string;
  target: string;
  expectedState: string;
  result: string;
  detail: string;
}

export interface Transaction {
  gid: string;
  flow: string;
  mode: string;
  state: TxStateName;
  attempts: number;
  lastError: string;
  createdAt: string;
  updatedAt: string;
  branches: Branch[];
  stuckIn: TxStateName;
  parkedAt: string;
  deadlineAt: string;
  inDoubt: boolean;
  userId: string;
  reservationId: string;
  paymentId: string;
  nextAttemptAt: string;
  input: string;
  outcome: string;
  traceId: string;
  history: HistoryEntry[];
  actions: OperatorAction[];
}

export interface TransactionPage {
  transactions: Transaction[];
  nextPageToken: string;
  counts: { state: TxStateName; count: number }[];
}

export interface ParkedEvent {
  eventId: string;
  type: string;
  attempts: number;
  lastError: string;
  payload: string;
}

export interface ParkedQueue {
  queue: string;
  count: number;
  events: ParkedEvent[];
}

export interface AuditRun {
  ok: boolean;
  invariants: { name: string; ok: boolean; count: number; rows: string[]; skipped: string }[];
  checkedAt: string;
  tookMs: number;
}

export interface SeatMap {
  concertId: string;
  title: string;
  scheduleId: string;
  date: string;
  dates: string[];
  seats: { seatNumber: number; price: number; status: string; reservationId: string }[];
}

export interface Hold {
  reservationId: string;
  seatNumber: number;
  userId: string;
  status: string;
  expiresAt: string;
}

/** An answer other than 2xx: its status and the reason the service gave. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly metadata: Record<string, string>,
  ) {
    super(message);
  }
}

const BASE = '/api/v1';

export class Api {
  constructor(
    private readonly token: () => string,
    /** Told of a 401 or 403 (signed out, or not an operator) before the call fails. */
    private readonly onRefused: (err: ApiError) => void,
  ) {}

  get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      if (v !== undefined && v !== '' && v !== 0) params.set(k, String(v));
    const qs = params.toString();
    return this.call<T>('GET', `${path}${qs ? `?${qs}` : ''}`);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, JSON.stringify(body));
  }

  private async call<T>(method: string, path: string, body?: string): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(`${BASE}${path}`, { method, headers, body });
    const answer = (await res.json().catch(() => ({}))) as {
      message?: string;
      details?: { reason?: string; metadata?: Record<string, string> }[];
    };
    if (res.ok) return answer as T;
    const detail = answer.details?.[0];
    const err = new ApiError(
      res.status,
      detail?.reason ?? 'UNKNOWN',
      answer.message ?? `HTTP ${res.status}`,
      detail?.metadata ?? {},
    );
    if (res.status === 401 || res.status === 403) this.onRefused(err);
    throw err;
  }
}

/** Path segments are ids the services minted or queue names: encoded all the same. */
export const seg = encodeURIComponent;
