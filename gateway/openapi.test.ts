import { expect } from 'chai';
import { isReason } from '../lib/errors';
import { jsonName } from './descriptors';
import { loadProtos } from '../lib/grpc/protos';
import { buildOpenApi } from './openapi';
import { buildRoutes } from './routes';

// Answers are checked field by field; a loose JSON type keeps the tests readable.

type Json = any;

type Doc = {
  openapi: string;
  info: { description: string };
  paths: Record<string, Record<string, Record<string, Json>>>;
  components: Record<string, Record<string, Json>>;
};

/** Every $ref in the document, and whether it resolves. */
function refs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refs(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('gateway OpenAPI document', () => {
  const routes = buildRoutes(loadProtos());
  const doc = buildOpenApi(routes, 65536) as unknown as Doc;

  it('is OpenAPI 3.0 with every route, its parameters and its success status', () => {
    expect(doc.openapi).to.match(/^3\.0\./);
    for (const r of routes) {
      const path = `/${r.segments.map((s) => (s.kind === 'literal' ? s.value : `{${jsonName(s.field)}}`)).join('/')}`;
      const op = doc.paths[path]?.[r.httpMethod.toLowerCase()];
      expect(op, `${r.httpMethod} ${path}`).to.be.an('object');
      expect(op.responses).to.have.property(String(r.policy.successStatus));
      const pathParams = (
        op.parameters as { in: string; name: string; required: boolean }[]
      ).filter((p) => p.in === 'path');
      expect(pathParams.map((p) => p.name)).to.deep.equal(
        r.segments.flatMap((s) => (s.kind === 'variable' ? [jsonName(s.field)] : [])),
      );
      expect(pathParams.every((p) => p.required)).to.equal(true);
      expect(op.responses.default).to.deep.equal({ $ref: '#/components/responses/Error' });
    }
    expect(doc.paths).to.include.keys('/healthz', '/readyz', '/docs', '/docs/openapi.json');
    const ids = Object.values(doc.paths).flatMap((p) =>
      Object.values(p).map((op) => op.operationId as string),
    );
    expect(new Set(ids).size).to.equal(ids.length);
  });

  it('declares security per audience and queue-token policy', () => {
    expect(doc.components.securitySchemes).to.deep.include({
      bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
    });
    expect(doc.components.securitySchemes.queueToken).to.include({
      type: 'apiKey',
      in: 'header',
      name: 'X-Queue-Token',
    });
    expect(doc.paths['/api/v1/concerts'].get.security).to.deep.equal([]);
    expect(doc.paths['/api/v1/points/charge'].post.security).to.deep.equal([{ bearerAuth: [] }]);
    expect(doc.paths['/api/v1/reservations'].post.security).to.deep.equal([
      { bearerAuth: [], queueToken: [] },
    ]);
    expect(doc.paths['/api/v1/queue/status'].get.security).to.deep.equal([
      { bearerAuth: [], queueToken: [] },
    ]);
    expect(doc.paths['/api/v1/admin/concerts'].post.description).to.match(/ADMIN_ONLY/);
  });

  it('documents bodies, query parameters and response bodies from the message types', () => {
    const schemas = doc.components.schemas;
    const charge = doc.paths['/api/v1/points/charge'].post;
    expect(charge.requestBody.content['application/json'].schema).to.deep.equal({
      $ref: '#/components/schemas/boxoffice.point.v1.ChargeRequest',
    });
    expect(schemas['boxoffice.point.v1.ChargeRequest']).to.deep.include({
      required: ['amount'],
      additionalProperties: false,
    });
    expect(schemas['boxoffice.point.v1.ChargeRequest'].properties.amount).to.include({
      type: 'integer',
      format: 'int64',
    });
    // The refund body excludes the path-bound paymentId.
    expect(
      doc.paths['/api/v1/payments/{paymentId}/refund'].post.requestBody.content['application/json']
        .schema,
    ).to.deep.equal({
      type: 'object',
      properties: {},
      additionalProperties: false,
    });
    const history = doc.paths['/api/v1/points/{userId}/history'].get;
    expect(history.parameters.find((p: { name: string }) => p.name === 'limit')).to.deep.include({
      in: 'query',
      required: false,
    });
    // response_body: the reservation itself.
    expect(
      doc.paths['/api/v1/reservations'].post.responses['201'].content['application/json'].schema,
    ).to.deep.equal({
      $ref: '#/components/schemas/boxoffice.reservation.v1.Reservation',
    });
    const reservation = schemas['boxoffice.reservation.v1.Reservation'];
    expect(reservation.required).to.include('reservationId').and.not.include('paymentId');
    expect(schemas['boxoffice.concert.v1.SeatStatus']).to.deep.include({ type: 'string' });
    expect(schemas['boxoffice.concert.v1.SeatStatus'].enum).to.include.members([
      'AVAILABLE',
      'HELD',
      'SOLD',
    ]);
  });

  it('documents the error body and the error statuses', () => {
    expect(doc.components.schemas['google.rpc.Status'].required).to.deep.equal([
      'code',
      'message',
      'details',
    ]);
    const charge = doc.paths['/api/v1/points/charge'].post;
    expect(charge.responses).to.include.keys('400', '401', '403', '413', '500', '503');
    expect(doc.paths['/api/v1/concerts'].get.responses).not.to.have.keys('401');
    expect(doc.components.responses.Unauthenticated.headers).to.have.property('WWW-Authenticate');
    // The gateway's own choices (405, field names of 400s) are written down.
    expect(doc.info.description)
      .to.match(/405/)
      .and.match(/metadata\.field/);
  });

  it('lists the reasons a client can get, and only those', () => {
    const reasons: string[] = doc.components.schemas['google.rpc.ErrorInfo'].properties.reason.enum;
    expect(reasons.filter((r) => !isReason(r))).to.deep.equal([]);
    expect(reasons).to.include.members([
      'INVALID_ARGUMENT',
      'PAYLOAD_TOO_LARGE',
      'RATE_LIMITED',
      'QUEUE_TOKEN_EXPIRED',
      'SEAT_UNAVAILABLE',
      'IDEMPOTENCY_KEY_REUSED',
      'INSUFFICIENT_POINTS',
      // The operators' routes.
      'TRANSACTION_NOT_FOUND',
      'TRANSACTION_STATE_CHANGED',
    ]);
    expect(reasons).not.to.include.members(['BRANCH_REFUSED']);
    expect(reasons).not.to.include.members(['NOT_RESERVATION_OWNER']);
    expect(new Set(reasons).size).to.equal(reasons.length);
  });

  it('resolves every $ref', () => {
    const all = refs(doc);
    expect(all.length).to.be.greaterThan(20);
    for (const ref of all) {
      const [, section, name] = /^#\/components\/(\w+)\/(.+)$/.exec(ref) ?? [];
      expect(doc.components[section]?.[name], ref).to.be.an('object');
    }
  });
});
