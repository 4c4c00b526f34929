// HTTP <-> protobuf by the proto3 JSON mapping (lowerCamelCase; proto names also accepted on
// input), strict on input: every problem is a 400 INVALID_ARGUMENT naming the JSON field, so a
// client's mistake never reaches a service as a silently defaulted value.
//
// Deliberate choices (also stated in the OpenAPI description):
// - 32-bit integers must be JSON numbers; 64-bit ones may also be decimal strings (proto3
//   JSON), and must lie within +-(2^53-1) so that they survive as JSON numbers on the way out.
// - `null` means "not set", as in proto3 JSON; a REQUIRED field is present when its key is
//   given with a non-null value (its range is the service's to check, with its own reason).
// - An empty body counts as `{}`.
import * as protobuf from 'protobufjs';
import { hasPresence, isRequired, jsonName } from './descriptors';
import { invalidArgument } from './errors';
import type { Route } from './routes';

/** Raw HTTP inputs of one call. */
export interface HttpInput {
  params: Map<protobuf.Field, string>;
  query: URLSearchParams;
  /** The request body; undefined when the route takes none. */
  body: Buffer | undefined;
}

/** The field name errors use for the body as a whole (malformed JSON, not an object). */
export const BODY_FIELD = 'body';

type Obj = Record<string, unknown>;
type IntKind = { min: number; max: number; wide: boolean };

const INT32: IntKind = { min: -(2 ** 31), max: 2 ** 31 - 1, wide: false };
const UINT32: IntKind = { min: 0, max: 2 ** 32 - 1, wide: false };
const INT64: IntKind = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, wide: true };
const UINT64: IntKind = { min: 0, max: Number.MAX_SAFE_INTEGER, wide: true };
const INT_KINDS: Record<string, IntKind> = {
  int32: INT32,
  sint32: INT32,
  sfixed32: INT32,
  uint32: UINT32,
  fixed32: UINT32,
  int64: INT64,
  sint64: INT64,
  sfixed64: INT64,
  uint64: UINT64,
  fixed64: UINT64,
};
const WIDE = new Set(['int64', 'sint64', 'sfixed64', 'uint64', 'fixed64']);
const FLOAT_MAX = 3.4028234663852886e38;
const DIGITS = /^-?\d+$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

// ---------------------------------------------------------------------------------------------
// Request: path + query + body -> protobuf bytes

/** The protobuf request of a route, built from its HTTP inputs and validated. */
export function requestFromHttp(route: Route, input: HttpInput): Obj {
  const type = route.requestType;
  const out: Obj = {};
  const pathFields = new Set(input.params.keys());
  for (const [field, raw] of input.params)
    out[field.name] = scalarFromString(field, raw, jsonName(field));
  applyQuery(route, input.query, pathFields, out);
  if (route.body !== undefined) {
    const json = parseJson(input.body ?? Buffer.alloc(0));
    if (route.body === '*') {
      Object.assign(
        out,
        messageFromJson(type, json === undefined ? {} : json, '', pathFields, false),
      );
    } else if (json !== undefined && json !== null) {
      const field = type.fields[route.body];
      out[field.name] = fieldFromJson(field, json, jsonName(field));
    }
  }
  for (const field of type.fieldsArray) {
    if (isRequired(field) && !(field.name in out)) {
      throw invalidArgument(jsonName(field), `missing required field "${jsonName(field)}"`);
    }
  }
  return out;
}

export function encodeRequest(type: protobuf.Type, request: Obj): Buffer {
  return Buffer.from(type.encode(type.fromObject(request)).finish());
}

/** Parses a body; undefined for an empty one. */
function parseJson(body: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw invalidArgument(BODY_FIELD, 'request body is not valid UTF-8');
  }
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw invalidArgument(BODY_FIELD, 'request body is not valid JSON');
  }
}

function applyQuery(
  route: Route,
  query: URLSearchParams,
  pathFields: Set<protobuf.Field>,
  out: Obj,
): void {
  for (const key of new Set(query.keys())) {
    const unknown = () => invalidArgument(key, `unknown query parameter "${key}"`);
    // With body "*" every field not in the path comes from the body, so no query is taken.
    if (route.body === '*') throw unknown();
    const values = query.getAll(key);
    const parts = key.split('.');
    let type = route.requestType;
    let target = out;
    for (let i = 0; i < parts.length; i++) {
      const field = lookupField(type, parts[i]);
      if (!field) throw unknown();
      if (i === 0 && (pathFields.has(field) || field.name === route.body)) throw unknown();
      const last = i === parts.length - 1;
      const rt = field.resolvedType;
      if (!last) {
        if (!(rt instanceof protobuf.Type) || field.repeated || field.map) throw unknown();
        let next = target[field.name] as Obj | undefined;
        if (!next) target[field.name] = next = {};
        target = next;
        type = rt;
        continue;
      }
      if (rt instanceof protobuf.Type || field.map) throw unknown();
      if (field.repeated) {
        target[field.name] = values.map((v) => scalarFromString(field, v, key));
      } else {
        if (values.length > 1)
          throw invalidArgument(key, `query parameter "${key}" is given more than once`);
        target[field.name] = scalarFromString(field, values[0], key);
      }
    }
  }
}

const lookups = new WeakMap<protobuf.Type, Map<string, protobuf.Field>>();

/** A field by its JSON name or its proto name. */
function lookupField(type: protobuf.Type, key: string): protobuf.Field | undefined {
  let byName = lookups.get(type);
  if (!byName) {
    byName = new Map();
    for (const f of type.fieldsArray) {
      byName.set(f.name, f);
      byName.set(jsonName(f), f);
    }
    lookups.set(type, byName);
  }
  return byName.get(key);
}

/** A JSON object as a protobufjs plain object of `type`; `path` prefixes error field names. */
export function messageFromJson(
  type: protobuf.Type,
  json: unknown,
  path: string,
  excluded: ReadonlySet<protobuf.Field> = new Set(),
  checkRequired = true,
): Obj {
  const where = path || BODY_FIELD;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw invalidArgument(
      where,
      `${path ? `"${path}"` : 'the request body'} must be a JSON object`,
    );
  }
  const out: Obj = {};
  const given = new Set<protobuf.Field>();
  const oneofs = new Map<string, string>();
  for (const [key, value] of Object.entries(json as Obj)) {
    const name = path ? `${path}.${key}` : key;
    const field = lookupField(type, key);
    if (!field || excluded.has(field)) throw invalidArgument(name, `unknown field "${name}"`);
    if (given.has(field)) throw invalidArgument(name, `field "${name}" is given twice`);
    given.add(field);
    if (value === null) continue;
    const oneof = field.partOf;
    if (oneof && !isSynthetic(oneof)) {
      const other = oneofs.get(oneof.name);
      if (other)
        throw invalidArgument(name, `"${name}" and "${other}" are alternatives; give only one`);
      oneofs.set(oneof.name, name);
    }
    out[field.name] = fieldFromJson(field, value, name);
  }
  if (checkRequired) {
    for (const field of type.fieldsArray) {
      const name = path ? `${path}.${jsonName(field)}` : jsonName(field);
      if (isRequired(field) && !(field.name in out))
        throw invalidArgument(name, `missing required field "${name}"`);
    }
  }
  return out;
}

/** proto3 `optional` lives in a synthetic oneof, which is not a real alternative. */
function isSynthetic(oneof: protobuf.OneOf): boolean {
  return oneof.fieldsArray.length === 1 && oneof.fieldsArray[0].options?.proto3_optional === true;
}

function fieldFromJson(field: protobuf.Field, value: unknown, name: string): unknown {
  if (field.map) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw invalidArgument(name, `"${name}" must be a JSON object`);
    }
    // Keys come from the client: a prototype-less object cannot be polluted through them.
    const out = Object.create(null) as Obj;
    for (const [key, v] of Object.entries(value as Obj)) {
      mapKey(field, key, name);
      if (v === null) throw invalidArgument(name, `"${name}" may not hold null values`);
      out[key] = singleFromJson(field, v, name);
    }
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(value)) throw invalidArgument(name, `"${name}" must be an array`);
    return value.map((v, i) => {
      if (v === null) throw invalidArgument(name, `"${name}[${i}]" may not be null`);
      return singleFromJson(field, v, name);
    });
  }
  return singleFromJson(field, value, name);
}

function mapKey(field: protobuf.Field, key: string, name: string): void {
  const keyType = (field as unknown as protobuf.MapField).keyType;
  if (keyType === 'bool' && key !== 'true' && key !== 'false') {
    throw invalidArgument(name, `keys of "${name}" must be true or false`);
  }
  const kind = INT_KINDS[keyType];
  if (kind) intFromString(key, name, kind);
}

function singleFromJson(field: protobuf.Field, value: unknown, name: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return messageFromJson(rt, value, name);
  if (rt instanceof protobuf.Enum) return enumValue(rt, value, name);
  const kind = INT_KINDS[field.type];
  if (kind) {
    if (typeof value === 'string' && kind.wide) return intFromString(value, name, kind);
    if (typeof value !== 'number') throw invalidArgument(name, `"${name}" must be an integer`);
    return checkInt(value, name, kind);
  }
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') throw invalidArgument(name, `"${name}" must be a string`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean')
        throw invalidArgument(name, `"${name}" must be true or false`);
      return value;
    case 'double':
    case 'float':
      return floatValue(field.type, value, name);
    case 'bytes':
      return bytesValue(value, name);
    default:
      throw invalidArgument(name, `"${name}" has an unsupported type`);
  }
}

/** A path variable or query value: always a string on the wire, typed by the field. */
function scalarFromString(field: protobuf.Field, raw: string, name: string): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Enum) return enumValue(rt, DIGITS.test(raw) ? Number(raw) : raw, name);
  const kind = INT_KINDS[field.type];
  if (kind) return intFromString(raw, name, kind);
  switch (field.type) {
    case 'string':
      return raw;
    case 'bool':
      if (raw !== 'true' && raw !== 'false')
        throw invalidArgument(name, `"${name}" must be true or false`);
      return raw === 'true';
    case 'double':
    case 'float':
      if (/^(NaN|-?Infinity)$/.test(raw)) return floatValue(field.type, raw, name);
      return floatValue(field.type, raw.trim() === '' ? NaN : Number(raw), name);
    case 'bytes':
      return bytesValue(raw, name);
    default:
      throw invalidArgument(name, `"${name}" cannot be given as a path or query parameter`);
  }
}

function intFromString(raw: string, name: string, kind: IntKind): number {
  if (!DIGITS.test(raw)) throw invalidArgument(name, `"${name}" must be an integer`);
  return checkInt(Number(raw), name, kind);
}

function checkInt(n: number, name: string, kind: IntKind): number {
  if (!Number.isInteger(n)) throw invalidArgument(name, `"${name}" must be an integer`);
  if (n < kind.min || n > kind.max) {
    throw invalidArgument(name, `"${name}" must be between ${kind.min} and ${kind.max}`);
  }
  return n;
}

function floatValue(type: string, value: unknown, name: string): number {
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  if (typeof value !== 'number' || Number.isNaN(value))
    throw invalidArgument(name, `"${name}" must be a number`);
  if (type === 'float' && Math.abs(value) > FLOAT_MAX)
    throw invalidArgument(name, `"${name}" is out of range`);
  return value;
}

function bytesValue(value: unknown, name: string): Buffer {
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw invalidArgument(name, `"${name}" must be a base64 string`);
  }
  return Buffer.from(value, 'base64');
}

function enumValue(type: protobuf.Enum, value: unknown, name: string): number {
  if (typeof value === 'string' && Object.prototype.hasOwnProperty.call(type.values, value)) {
    return type.values[value];
  }
  if (typeof value === 'number' && Number.isInteger(value) && type.valuesById[value] !== undefined)
    return value;
  throw invalidArgument(name, `"${name}" must be one of ${Object.keys(type.values).join(', ')}`);
}

// ---------------------------------------------------------------------------------------------
// Response: protobuf bytes -> JSON

/** The JSON body of a route's answer, honouring response_body. */
export function responseToJson(route: Route, bytes: Uint8Array): unknown {
  const msg = route.responseType.decode(bytes) as unknown as Obj;
  if (!route.responseBody) return messageToJson(route.responseType, msg);
  const field = route.responseType.fields[route.responseBody];
  const value = fieldToJson(field, msg);
  if (value !== undefined) return value;
  // An unset message field still answers an object (of defaults), never an empty body.
  const rt = field.resolvedType;
  return rt instanceof protobuf.Type ? messageToJson(rt, {}) : null;
}

/**
 * A decoded message as proto3 JSON: default values of plain scalars and repeated fields are
 * emitted (clients can rely on every documented key), fields with presence only when set.
 */
export function messageToJson(type: protobuf.Type, msg: Obj): Obj {
  const out: Obj = {};
  for (const field of type.fieldsArray) {
    const value = fieldToJson(field, msg);
    if (value !== undefined) out[jsonName(field)] = value;
  }
  return out;
}

/** One field's JSON value, or undefined when it is to be left out. */
function fieldToJson(field: protobuf.Field, msg: Obj): unknown {
  const own = Object.prototype.hasOwnProperty.call(msg, field.name);
  const value = own ? msg[field.name] : undefined;
  if (field.map) {
    const out: Obj = {};
    for (const [k, v] of Object.entries((value ?? {}) as Obj)) out[k] = singleToJson(field, v);
    return out;
  }
  if (field.repeated) return Array.isArray(value) ? value.map((v) => singleToJson(field, v)) : [];
  if (hasPresence(field))
    return value === undefined || value === null ? undefined : singleToJson(field, value);
  return singleToJson(field, value ?? scalarDefault(field));
}

function scalarDefault(field: protobuf.Field): unknown {
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  switch (field.type) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'bytes':
      return Buffer.alloc(0);
    default:
      return 0;
  }
}

function singleToJson(field: protobuf.Field, value: unknown): unknown {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) return messageToJson(rt, value as Obj);
  if (rt instanceof protobuf.Enum) return rt.valuesById[value as number] ?? value;
  if (WIDE.has(field.type)) return toNumber(value);
  switch (field.type) {
    case 'double':
    case 'float':
      return Number.isFinite(value) ? value : String(value);
    case 'bytes':
      return Buffer.from(value as Uint8Array).toString('base64');
    default:
      return value;
  }
}

/** 64-bit values (Long, number or string) as JSON numbers, as docs/api.md promises. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number(value);
  if (value && typeof (value as { toNumber?: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return Number(value);
}
