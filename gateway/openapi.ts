// The OpenAPI 3.0 document, generated from the same routes and message types the gateway
// serves, so the documentation cannot drift from the behaviour.
import * as protobuf from 'protobufjs';
import { REASONS, type Reason } from '../lib/errors';
import { describe, hasPresence, isRequired, jsonName } from './descriptors';
import type { Route } from './routes';

type Schema = Record<string, unknown>;
type Operation = Record<string, unknown>;

const ERROR_REF = { $ref: '#/components/schemas/google.rpc.Status' };
const JSON_TYPE = 'application/json';

/**
 * Reasons of lib/errors.ts no client gets: refusals between the coordinator and its
 * participants, and NOT_RESERVATION_OWNER, which no service raises (another user's reservation
 * reads as RESERVATION_NOT_FOUND).
 */
const MESH_ONLY_REASONS: ReadonlySet<Reason> = new Set<Reason>([
  'BRANCH_REFUSED',
  'NOT_RESERVATION_OWNER',
]);

/** Every reason a client can find in details[0].reason; docs/api.md says when each comes. */
export const CLIENT_REASONS: readonly Reason[] = (Object.keys(REASONS) as Reason[]).filter(
  (r) => !MESH_ONLY_REASONS.has(r),
);

const INTRO = `REST gateway of boxoffice. Every route is generated from a \`google.api.http\` annotation in
the service protos; JSON follows the proto3 JSON mapping with lowerCamelCase names.

**Authentication.** Every route except the public ones needs \`Authorization: Bearer <JWT>\`
(HS256; claims \`sub\` and \`exp\` required, \`role: "admin"\` for admin routes). Booking routes
also need an active waiting-room token in \`X-Queue-Token\`.

**Errors.** Every non-2xx answer has the \`google.rpc.Status\` shape with one
\`google.rpc.ErrorInfo\` detail (domain \`boxoffice\`). The HTTP status follows the canonical
gRPC mapping; a body over the limit is 413 \`PAYLOAD_TOO_LARGE\` (code 8). Every 401 carries
\`WWW-Authenticate\`.

**Gateway choices where the contract is silent.**
- Input is strict: unknown fields, unknown query parameters, wrong JSON types and missing
  required fields are 400 \`INVALID_ARGUMENT\` with \`metadata.field\` naming the field as
  the client wrote it (nested fields dotted, e.g. \`a.b\`); malformed JSON, invalid UTF-8 or
  a body that is not an object name the field \`body\`; a bad \`Idempotency-Key\` names
  \`Idempotency-Key\`.
- Proto names (\`seat_number\`) are accepted beside JSON names (\`seatNumber\`), as proto3 JSON
  requires. \`null\` means "not set". An empty body counts as \`{}\`. The request
  \`Content-Type\` is not checked: the body is always parsed as JSON.
- 32-bit integers must be JSON numbers; 64-bit integers may also be decimal strings and must
  lie within ±(2^53-1). Every integer is answered as a JSON number.
- Answers carry every field without presence (defaults included, e.g. \`0\`, \`""\`, \`[]\`);
  proto3 \`optional\` fields appear only when set. Enums are answered by name.
- A known path with another method is 405 with \`Allow\`; its body has code 12
  (UNIMPLEMENTED, as grpc-gateway answers it) and reason \`NOT_FOUND\`. An unknown path is 404
  \`NOT_FOUND\`.
- The access policy (JWT, admin role, waiting-room token, Idempotency-Key format) is checked
  before the body is read; only a declared \`Content-Length\` over the limit is refused first.
- Every answer carries \`X-Request-Id\`; a 500 answers only "internal error" and is logged under
  that id.`;

/** The whole document. */
export function buildOpenApi(
  routes: readonly Route[],
  bodyLimitBytes: number,
): Record<string, unknown> {
  const schemas = new SchemaRegistry();
  const paths: Record<string, Record<string, Operation>> = {};
  for (const route of routes) {
    const path = `/${route.segments.map((s) => (s.kind === 'literal' ? s.value : `{${jsonName(s.field)}}`)).join('/')}`;
    paths[path] ??= {};
    paths[path][route.httpMethod.toLowerCase()] = operation(route, schemas, bodyLimitBytes);
  }
  Object.assign(paths, gatewayPaths());
  return {
    openapi: '3.0.3',
    info: { title: 'boxoffice API', version: '1.0.0', description: INTRO },
    servers: [{ url: '/' }],
    tags: tags(routes),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        queueToken: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Queue-Token',
          description:
            'Waiting-room token from POST /api/v1/queue/tokens, bound to the user it was issued to.',
        },
      },
      schemas: { ...schemas.all(), ...errorSchemas(), ...gatewaySchemas() },
      responses: errorResponses(bodyLimitBytes),
    },
  };
}

function tags(routes: readonly Route[]): { name: string; description?: string }[] {
  const seen = new Map<string, string | undefined>();
  for (const r of routes) {
    const name = tagOf(r);
    if (!seen.has(name))
      seen.set(name, describe(r.requestType.root.lookupService(r.serviceFullName).comment));
  }
  const out = [...seen].map(([name, description]) =>
    description ? { name, description } : { name },
  );
  return [
    ...out,
    { name: 'Gateway', description: 'Health and documentation of the gateway itself.' },
  ];
}

function tagOf(route: Route): string {
  return route.serviceFullName.split('.').pop()!;
}

function operation(route: Route, schemas: SchemaRegistry, bodyLimitBytes: number): Operation {
  const { policy } = route;
  const pathFields = new Set(
    route.segments.flatMap((s) => (s.kind === 'variable' ? [s.field] : [])),
  );
  const parameters: Schema[] = [];
  for (const s of route.segments) {
    if (s.kind !== 'variable') continue;
    parameters.push({
      name: jsonName(s.field),
      in: 'path',
      required: true,
      schema: schemas.field(s.field),
      ...(describe(s.field.comment) ? { description: describe(s.field.comment) } : {}),
    });
  }
  if (route.body !== '*') {
    for (const f of route.requestType.fieldsArray) {
      if (
        pathFields.has(f) ||
        f.name === route.body ||
        f.map ||
        f.resolvedType instanceof protobuf.Type
      )
        continue;
      parameters.push({
        name: jsonName(f),
        in: 'query',
        required: isRequired(f),
        schema: schemas.field(f),
        ...(describe(f.comment) ? { description: describe(f.comment) } : {}),
      });
    }
  }
  if (route.body !== undefined) {
    parameters.push({
      name: 'Idempotency-Key',
      in: 'header',
      required: false,
      description:
        '1-128 printable ASCII characters, forwarded to the service; honoured by the operations that say so.',
      schema: { type: 'string', minLength: 1, maxLength: 128 },
    });
  }

  const successSchema = route.responseBody
    ? schemas.field(route.responseType.fields[route.responseBody])
    : schemas.ref(route.responseType, 'response');
  const success = {
    description: 'Success.',
    content: { [JSON_TYPE]: { schema: successSchema } },
  };
  const responses: Record<string, unknown> = { [String(policy.successStatus)]: success };
  if (policy.successStatus !== 200) {
    responses['200'] = {
      description: `Instead of ${policy.successStatus} when the service answers a repeat of an earlier request (e.g. an idempotent retry).`,
      content: { [JSON_TYPE]: { schema: successSchema } },
    };
  }
  responses['400'] = { $ref: '#/components/responses/BadRequest' };
  if (policy.audience !== 'PUBLIC') {
    responses['401'] = { $ref: '#/components/responses/Unauthenticated' };
    responses['403'] = { $ref: '#/components/responses/PermissionDenied' };
  }
  responses['404'] = { $ref: '#/components/responses/NotFound' };
  responses['409'] = { $ref: '#/components/responses/Conflict' };
  if (route.body !== undefined)
    responses['413'] = { $ref: '#/components/responses/PayloadTooLarge' };
  responses['429'] = { $ref: '#/components/responses/TooManyRequests' };
  responses['500'] = { $ref: '#/components/responses/Internal' };
  responses['503'] = { $ref: '#/components/responses/Unavailable' };
  responses['504'] = { $ref: '#/components/responses/Timeout' };
  responses.default = { $ref: '#/components/responses/Error' };

  const op: Operation = {
    operationId: `${tagOf(route)}_${route.rpc}`,
    tags: [tagOf(route)],
    summary: route.rpc,
    description: route.description
      ? `${route.description}\n\n${policyText(route)}`
      : policyText(route),
    parameters,
    responses,
    security: security(route),
    'x-boxoffice-route': {
      grpcMethod: route.grpcPath,
      audience: policy.audience,
      queueToken: policy.queueToken,
      successStatus: policy.successStatus,
    },
  };
  if (route.body !== undefined) {
    const body = requestBodySchema(route, pathFields, schemas);
    op.requestBody = {
      required: body.required,
      description: `JSON, at most ${bodyLimitBytes} bytes; an empty body counts as {}.`,
      content: { [JSON_TYPE]: { schema: body.schema } },
    };
  }
  return op;
}

function requestBodySchema(
  route: Route,
  pathFields: Set<protobuf.Field>,
  schemas: SchemaRegistry,
): { schema: Schema; required: boolean } {
  if (route.body !== '*') {
    const field = route.requestType.fields[route.body!];
    return { schema: schemas.field(field), required: isRequired(field) };
  }
  const required = route.requestType.fieldsArray.some((f) => !pathFields.has(f) && isRequired(f));
  if (pathFields.size === 0) return { schema: schemas.ref(route.requestType, 'request'), required };
  // Path-bound fields are not part of the body (giving them there is an unknown field).
  return { schema: schemas.object(route.requestType, 'request', pathFields), required };
}

function policyText(route: Route): string {
  const { audience, queueToken } = route.policy;
  const who =
    audience === 'PUBLIC'
      ? 'Public: no access token needed.'
      : audience === 'ADMIN'
        ? 'Needs a JWT with `role: "admin"` (else 403 `ADMIN_ONLY`).'
        : 'Needs a JWT.';
  const queue =
    queueToken === 'ACTIVE'
      ? ' Needs an ACTIVE waiting-room token of the caller in `X-Queue-Token` (401 `QUEUE_TOKEN_REQUIRED`/`QUEUE_TOKEN_INVALID`/`QUEUE_TOKEN_EXPIRED`, 403 `QUEUE_TOKEN_NOT_ACTIVE`/`QUEUE_TOKEN_USER_MISMATCH`).'
      : queueToken === 'PRESENT'
        ? ' Needs a waiting-room token in `X-Queue-Token` (any state; 401 `QUEUE_TOKEN_REQUIRED` when missing).'
        : '';
  return `${who}${queue} gRPC: \`${route.grpcPath}\`.`;
}

function security(route: Route): Record<string, string[]>[] {
  if (route.policy.audience === 'PUBLIC') return [];
  if (route.policy.queueToken === 'NONE') return [{ bearerAuth: [] }];
  return [{ bearerAuth: [], queueToken: [] }];
}

/** Component schemas of message and enum types, named by their full protobuf name. */
class SchemaRegistry {
  private readonly schemas: Record<string, Schema> = {};
  private readonly usage = new Map<string, 'request' | 'response'>();

  all(): Record<string, Schema> {
    return Object.fromEntries(Object.entries(this.schemas).sort(([a], [b]) => a.localeCompare(b)));
  }

  ref(type: protobuf.Type | protobuf.Enum, use: 'request' | 'response'): Schema {
    const name = type.fullName.replace(/^\./, '');
    if (!(name in this.schemas) || (this.usage.get(name) === 'response' && use === 'request')) {
      this.usage.set(name, use);
      this.schemas[name] = {}; // placeholder: recursive types terminate
      this.schemas[name] =
        type instanceof protobuf.Enum ? enumSchema(type) : this.object(type, use, new Set());
    }
    return { $ref: `#/components/schemas/${name}` };
  }

  /**
   * A message as an object schema. Requests list their REQUIRED fields and refuse others;
   * responses list as required every field that is always emitted.
   */
  object(
    type: protobuf.Type,
    use: 'request' | 'response',
    skip: ReadonlySet<protobuf.Field>,
  ): Schema {
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const f of type.fieldsArray) {
      if (skip.has(f)) continue;
      properties[jsonName(f)] = this.field(f, use);
      if (use === 'request' ? isRequired(f) : !hasPresence(f)) required.push(jsonName(f));
    }
    return {
      type: 'object',
      ...(describe(type.comment) ? { description: describe(type.comment) } : {}),
      properties,
      ...(required.length ? { required } : {}),
      ...(use === 'request' ? { additionalProperties: false } : {}),
    };
  }

  field(f: protobuf.Field, use: 'request' | 'response' = 'response'): Schema {
    let schema: Schema;
    const single = this.single(f, use);
    if (f.map) schema = { type: 'object', additionalProperties: single };
    else if (f.repeated) schema = { type: 'array', items: single };
    else schema = single;
    const text = describe(f.comment);
    if (!text) return schema;
    // In OpenAPI 3.0 siblings of $ref are ignored, so a described reference is wrapped.
    return '$ref' in schema
      ? { allOf: [schema], description: text }
      : { ...schema, description: text };
  }

  private single(f: protobuf.Field, use: 'request' | 'response'): Schema {
    const rt = f.resolvedType;
    if (rt instanceof protobuf.Type || rt instanceof protobuf.Enum) return this.ref(rt, use);
    return scalarSchema(f.type);
  }
}

function enumSchema(e: protobuf.Enum): Schema {
  return {
    type: 'string',
    enum: Object.keys(e.values),
    ...(describe(e.comment) ? { description: describe(e.comment) } : {}),
  };
}

function scalarSchema(type: string): Schema {
  switch (type) {
    case 'string':
      return { type: 'string' };
    case 'bool':
      return { type: 'boolean' };
    case 'bytes':
      return { type: 'string', format: 'byte' };
    case 'double':
      return { type: 'number', format: 'double' };
    case 'float':
      return { type: 'number', format: 'float' };
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return { type: 'integer', format: 'int32' };
    case 'uint32':
    case 'fixed32':
      return { type: 'integer', format: 'int64', minimum: 0, maximum: 2 ** 32 - 1 };
    case 'uint64':
    case 'fixed64':
      return { type: 'integer', format: 'int64', minimum: 0, maximum: Number.MAX_SAFE_INTEGER };
    default:
      return {
        type: 'integer',
        format: 'int64',
        minimum: Number.MIN_SAFE_INTEGER,
        maximum: Number.MAX_SAFE_INTEGER,
      };
  }
}

function errorSchemas(): Record<string, Schema> {
  return {
    'google.rpc.Status': {
      type: 'object',
      description: 'Every non-2xx answer.',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'integer', format: 'int32', description: 'The gRPC status code.' },
        message: { type: 'string', description: 'For humans; never contains internals.' },
        details: {
          type: 'array',
          minItems: 1,
          maxItems: 1,
          items: { $ref: '#/components/schemas/google.rpc.ErrorInfo' },
        },
      },
      example: {
        code: 9,
        message: 'seat 7 on 2026-12-24 is already held',
        details: [
          {
            '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
            reason: 'SEAT_UNAVAILABLE',
            domain: 'boxoffice',
            metadata: {},
          },
        ],
      },
    },
    'google.rpc.ErrorInfo': {
      type: 'object',
      required: ['@type', 'reason', 'domain', 'metadata'],
      properties: {
        '@type': { type: 'string', enum: ['type.googleapis.com/google.rpc.ErrorInfo'] },
        reason: {
          type: 'string',
          enum: [...CLIENT_REASONS],
          description:
            'Why the request failed. A client acts on it, and on the HTTP status for a reason it does not know: new ones may be added.',
        },
        domain: { type: 'string', enum: ['boxoffice'] },
        metadata: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'e.g. `field` for INVALID_ARGUMENT.',
        },
      },
    },
  };
}

function errorResponses(bodyLimitBytes: number): Record<string, unknown> {
  const error = (description: string, headers?: Record<string, unknown>) => ({
    description,
    ...(headers ? { headers } : {}),
    content: { [JSON_TYPE]: { schema: ERROR_REF } },
  });
  return {
    BadRequest: error(
      'INVALID_ARGUMENT (with metadata.field), FAILED_PRECONDITION or OUT_OF_RANGE.',
    ),
    Unauthenticated: error('UNAUTHENTICATED or a waiting-room token problem.', {
      'WWW-Authenticate': {
        schema: { type: 'string' },
        description: 'Bearer challenge (RFC 6750).',
      },
    }),
    PermissionDenied: error('PERMISSION_DENIED (e.g. ADMIN_ONLY, USER_MISMATCH).'),
    NotFound: error('NOT_FOUND.'),
    MethodNotAllowed: error('The path exists with other methods (code 12, reason NOT_FOUND).', {
      Allow: { schema: { type: 'string' }, description: 'The methods the path accepts.' },
    }),
    Conflict: error('ALREADY_EXISTS or ABORTED.'),
    PayloadTooLarge: error(`PAYLOAD_TOO_LARGE: the body exceeds ${bodyLimitBytes} bytes (code 8).`),
    TooManyRequests: error('RESOURCE_EXHAUSTED.'),
    Internal: error('INTERNAL: message "internal error", logged under X-Request-Id.'),
    Unavailable: error('UNAVAILABLE: a service behind the route did not answer.'),
    Timeout: error('DEADLINE_EXCEEDED.'),
    Error: error('Any other error, in the same shape.'),
  };
}

function gatewaySchemas(): Record<string, Schema> {
  return {
    HealthStatus: {
      type: 'object',
      required: ['status'],
      properties: { status: { type: 'string', enum: ['SERVING'] } },
    },
  };
}

function gatewayPaths(): Record<string, Record<string, Operation>> {
  const ok = (description: string, schema: Schema) => ({
    description,
    content: { [JSON_TYPE]: { schema } },
  });
  const health = { $ref: '#/components/schemas/HealthStatus' };
  return {
    '/healthz': {
      get: {
        operationId: 'Gateway_Healthz',
        tags: ['Gateway'],
        summary: 'Liveness: 200 while the gateway process lives.',
        security: [],
        responses: { '200': ok('Alive.', health) },
      },
    },
    '/readyz': {
      get: {
        operationId: 'Gateway_Readyz',
        tags: ['Gateway'],
        summary:
          'Readiness: every service behind the routes answers its gRPC health check with SERVING.',
        security: [],
        responses: {
          '200': ok('Ready.', health),
          '503': {
            description:
              'Not ready: UNAVAILABLE, metadata.down lists the services not serving (comma-separated).',
            content: { [JSON_TYPE]: { schema: ERROR_REF } },
          },
        },
      },
    },
    '/docs': {
      get: {
        operationId: 'Gateway_Docs',
        tags: ['Gateway'],
        summary: 'Swagger UI of this document.',
        security: [],
        responses: {
          '200': { description: 'HTML.', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
    '/console': {
      get: {
        operationId: 'Gateway_Console',
        tags: ['Gateway'],
        summary:
          'The operator console (HTML; its files under /console/). It signs in with an admin JWT and calls the admin routes.',
        security: [],
        responses: {
          '200': { description: 'HTML.', content: { 'text/html': { schema: { type: 'string' } } } },
        },
      },
    },
    '/docs/openapi.json': {
      get: {
        operationId: 'Gateway_OpenApi',
        tags: ['Gateway'],
        summary: 'This document.',
        security: [],
        responses: { '200': ok('OpenAPI 3.0 document.', { type: 'object' }) },
      },
    },
  };
}
