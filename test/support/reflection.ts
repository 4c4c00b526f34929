// A gRPC server reflection client of the tests' own, independent of how the mesh loads its
// protos: grpc-js generic calls and protobufjs. It fetches descriptors as grpcurl does (the
// symbol's file, then every dependency that file names), refuses a set that would not link in a
// strict client (by protobuf's naming rules, lib/grpc/reflection.ts), and builds callers from
// those descriptors alone.
import { join } from 'node:path';
import { Client, Metadata, credentials, type ServiceError } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import {
  FileDescriptorProto,
  type IDescriptorProto,
  type IFileDescriptorProto,
} from 'protobufjs/ext/descriptor';
import { declaredTypes, resolveType, usedTypes } from '../../lib/grpc/reflection';
import { REFLECTION_PROTO_DIR } from '../../lib/paths';

/** The reflection protocol's versions: grpcurl speaks v1 and falls back to v1alpha. */
export type ReflectionVersion = 'v1' | 'v1alpha';

/** One reflection call answered with an error_response. */
export class ReflectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class ReflectionClient {
  private readonly client: Client;
  private readonly request: protobuf.Type;
  private readonly response: protobuf.Type;
  private readonly path: string;

  constructor(
    readonly address: string,
    version: ReflectionVersion = 'v1',
  ) {
    const root = protobuf.loadSync(join(REFLECTION_PROTO_DIR, version, 'reflection.proto'));
    this.request = root.lookupType(`grpc.reflection.${version}.ServerReflectionRequest`);
    this.response = root.lookupType(`grpc.reflection.${version}.ServerReflectionResponse`);
    this.path = `/grpc.reflection.${version}.ServerReflection/ServerReflectionInfo`;
    this.client = new Client(address, credentials.createInsecure());
  }

  /** The full names of the services the server lists. */
  async listServices(): Promise<string[]> {
    const answer = await this.ask({ listServices: '*' });
    return (answer.listServicesResponse.service as { name: string }[]).map((s) => s.name);
  }

  /**
   * The file declaring `symbol` and every file it needs: what file_containing_symbol returns,
   * then file_by_filename for each named dependency not yet at hand. Throws where a strict
   * client (protoc's rules, Go's protodesc) would refuse the set: a type used but declared
   * neither in the file nor in one it imports, a field name that is no identifier, a map entry
   * not named `<Field>Entry`.
   */
  async filesFor(symbol: string): Promise<IFileDescriptorProto[]> {
    const files = new Map<string, IFileDescriptorProto>();
    const add = (bytes: Uint8Array[]) => {
      for (const b of bytes) {
        const file = FileDescriptorProto.decode(b) as unknown as IFileDescriptorProto;
        if (!files.has(file.name!)) files.set(file.name!, file);
      }
    };
    add(
      (await this.ask({ fileContainingSymbol: symbol })).fileDescriptorResponse.fileDescriptorProto,
    );
    for (let missing = missingDependencies(files); missing.length > 0;) {
      for (const name of missing)
        add((await this.ask({ fileByFilename: name })).fileDescriptorResponse.fileDescriptorProto);
      missing = missingDependencies(files);
    }
    for (const file of files.values()) assertMessageShapes(file.name!, file.messageType);
    assertLinks([...files.values()]);
    return [...files.values()];
  }

  /**
   * The schema of the file declaring `symbol`, from the server's descriptors alone; throws when
   * a type anywhere in it does not resolve.
   */
  async schemaFor(symbol: string): Promise<protobuf.Root> {
    const files = (await this.filesFor(symbol)).map(withJsonNames);
    const root = (protobuf.Root as unknown as RootFromDescriptor).fromDescriptor({ file: files });
    root.resolveAll();
    return root;
  }

  close(): void {
    this.client.close();
  }

  /** One request on a stream of its own; resolves with the answer, rejects on error_response. */
  private ask(request: Record<string, unknown>): Promise<Record<string, any>> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeBidiStreamRequest(
        this.path,
        (msg: Record<string, unknown>) =>
          Buffer.from(this.request.encode(this.request.fromObject(msg)).finish()),
        (buf: Buffer) => this.response.toObject(this.response.decode(buf), { defaults: true }),
      );
      let answer: Record<string, any> | undefined;
      call.on('data', (msg: Record<string, any>) => {
        answer = msg;
        call.end();
      });
      call.on('error', reject);
      call.on('end', () => {
        if (!answer) return reject(new Error(`no reflection answer from ${this.address}`));
        const error = answer.errorResponse;
        if (error) return reject(new ReflectionError(error.errorCode, error.errorMessage));
        resolve(answer);
      });
      call.write(request);
    });
  }
}

/**
 * Calls a unary method (`package.Service/Method`) described by `schema`, with a request and an
 * answer in proto3 JSON field names, int64 as strings and enums by name, as grpcurl shows them.
 */
export function callUnary(
  address: string,
  schema: protobuf.Root,
  method: string,
  request: Record<string, unknown>,
  metadata = new Metadata(),
): Promise<Record<string, unknown>> {
  const [service, name] = method.split('/');
  const rpc = schema.lookupService(service).methods[name];
  if (!rpc) throw new Error(`${service} has no method ${name}`);
  const input = schema.lookupType(rpc.requestType);
  const output = schema.lookupType(rpc.responseType);
  const client = new Client(address, credentials.createInsecure());
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    client.makeUnaryRequest(
      `/${method}`,
      (msg: Record<string, unknown>) => Buffer.from(input.encode(input.fromObject(msg)).finish()),
      (buf: Buffer) =>
        output.toObject(output.decode(buf), { defaults: true, enums: String, longs: String }),
      request,
      metadata,
      (err: ServiceError | null, answer?: Record<string, unknown>) =>
        err ? reject(err) : resolve(answer!),
    );
  }).finally(() => client.close());
}

type RootFromDescriptor = { fromDescriptor(set: { file: IFileDescriptorProto[] }): protobuf.Root };

/** Dependencies named by some file of the set that the set does not hold. */
function missingDependencies(files: Map<string, IFileDescriptorProto>): string[] {
  const named = [...files.values()].flatMap((f) => (f.dependency ?? []) as string[]);
  return [...new Set(named)].filter((name) => !files.has(name));
}

/**
 * protoc's rule: a file may use only types declared in it or in the files it imports. A name is
 * resolved as a strict client resolves it: from the innermost scope outwards (C++ rules).
 */
function assertLinks(files: IFileDescriptorProto[]): void {
  const declaredIn = new Map<string, string>();
  for (const file of files) {
    for (const type of declaredTypes(file)) declaredIn.set(type, file.name!);
  }
  for (const file of files) {
    const visible = new Set([file.name!, ...((file.dependency ?? []) as string[])]);
    for (const [ref, scope] of usedTypes(file)) {
      const name = resolveType(ref, scope, declaredIn);
      const home = name && declaredIn.get(name);
      if (!home || !visible.has(home))
        throw new Error(
          `${file.name} uses ${ref}, ` +
            (home ? `declared in ${home}, which it does not import` : 'which no file declares'),
        );
    }
  }
}

function assertMessageShapes(file: string, messages: IDescriptorProto[] = []): void {
  for (const message of messages) {
    for (const field of message.field ?? []) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(field.name!))
        throw new Error(`${file}: ${message.name} has a field named ${field.name}`);
      const entry = message.nestedType?.find(
        (n) =>
          n.options?.mapEntry &&
          (field.typeName === n.name || field.typeName?.endsWith(`.${message.name}.${n.name}`)),
      );
      const camel = field.name!.replace(/(?:^|_)([a-z0-9])/g, (_, c: string) => c.toUpperCase());
      if (entry && entry.name !== `${camel}Entry`)
        throw new Error(`${file}: map ${message.name}.${field.name} has entry ${entry.name}`);
    }
    assertMessageShapes(file, message.nestedType);
  }
}

/** The file with each field named by its proto3 JSON name, the names grpcurl reads and prints. */
function withJsonNames(file: IFileDescriptorProto): IFileDescriptorProto {
  const rename = (messages: IDescriptorProto[] = []) => {
    for (const m of messages) {
      for (const f of m.field ?? [])
        f.name = (f.jsonName as string | undefined) || jsonName(f.name!);
      rename(m.nestedType);
    }
  };
  rename(file.messageType);
  return file;
}

function jsonName(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
