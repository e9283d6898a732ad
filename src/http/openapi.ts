// OpenAPI 3.1 documents built from the zod schemas the routes validate with
// (issue 6: "generated from the same schemas that validate requests"). Each
// server lists its routes in src/<party>/openapi.ts and serves the document at
// GET /openapi.json.
//
// Describing a new route is one entry in that list, next to the others:
//
//   route('POST', '/v1/things/:id', 'Make a thing', {
//     params: ThingParams, body: { ThingRequest }, ok: { 201: { ThingView } }, codes: ['PAY_THING_TAKEN'],
//   }),
//
// `params`, `query` and `body` are the very zod schemas the handler passes to
// parseOrThrow (export them from the route file); `{ Name: schema }` names the
// schema's component in #/components/schemas. An answer without a zod schema
// is `media(type, description)`. `codes` are the business codes the route can
// answer; their statuses come from the party's `Record<Code, number>`, and the
// pipeline's HTTP_ codes (size, content type, JSON, schema, auth) are added
// from the route's shape. test/http/openapi.test.ts fails for a served route
// without a description, and for a description without a route.
import { z } from 'zod';
import { HTTP_STATUS, type HttpErrorCode } from './errors.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** `{ Name: schema }`: one zod schema, under the name of its component. */
export type Named = Readonly<Record<string, z.ZodType>>;

/** An answer described by its media type and words, with a schema when one exists. */
export class MediaAnswer {
  readonly mediaType: string;
  readonly description: string;
  readonly schema: Named | undefined;
  constructor(mediaType: string, description: string, schema?: Named) {
    this.mediaType = mediaType;
    this.description = description;
    this.schema = schema;
  }
}

/** A non-JSON answer (a PEM chain, a DER CRL), or a JSON answer that has no zod schema (yet). */
export function media(mediaType: string, description: string, schema?: Named): MediaAnswer {
  return new MediaAnswer(mediaType, description, schema);
}

export type RouteSpec<C extends string, S extends string> = {
  readonly description?: string;
  readonly tags?: readonly string[];
  /** Alternatives, any one of which is enough; 'none' means anonymous callers are served too. Default: anonymous only. */
  readonly security?: readonly (S | 'none')[];
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: Named;
  /** The body may be left out altogether (the handler reads `request.body ?? {}`). */
  readonly optionalBody?: boolean;
  /** Success answers by status. */
  readonly ok: Readonly<Record<number, Named | MediaAnswer>>;
  /** Codes this route answers besides the pipeline's (which are added from its shape). */
  readonly codes?: readonly (C | HttpErrorCode)[];
  /** The route is behind @fastify/rate-limit (429 HTTP_RATE_LIMITED). */
  readonly rateLimited?: boolean;
  /** A body its own refusals carry instead of ErrorBody (e.g. the shop's signed refusal, message 220). */
  readonly errorBody?: Named;
};

export type RouteDoc<C extends string, S extends string> = RouteSpec<C, S> & {
  readonly method: HttpMethod;
  /** Fastify syntax: `/v1/registrations/:id`. */
  readonly path: string;
  readonly summary: string;
};

/** A `route(method, path, summary, spec)` function typed with one party's codes and security schemes. */
export function routeBuilder<C extends string, S extends string>() {
  return (method: HttpMethod, path: string, summary: string, spec: RouteSpec<C, S>): RouteDoc<C, S> => ({ method, path, summary, ...spec });
}

export type SecurityScheme =
  | { readonly type: 'http'; readonly scheme: 'bearer'; readonly description: string }
  | { readonly type: 'mutualTLS'; readonly description: string };

export type ApiDescription<C extends string, S extends string> = {
  readonly title: string;
  readonly description: string;
  /** The party's code → HTTP status map (src/<party>/errors.ts). */
  readonly statusOf: Readonly<Record<C, number>>;
  readonly securitySchemes: Readonly<Record<S, SecurityScheme>>;
  readonly routes: readonly RouteDoc<C, S>[];
};

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export type OpenApiDocument = {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, JsonObject>>;
  components: { schemas: Record<string, JsonObject>; securitySchemes: Record<string, JsonObject> };
};

/** The one error shape on the wire (errors.ts ErrorBody). */
export const ErrorBody = z.strictObject({
  code: z.string().describe('A stable code, listed in docs/ERRORS.md'),
  message: z.string(),
  details: z.unknown().optional(),
});

/** The version of the API the paths name (/v1/…). */
export const API_VERSION = '1';

const SCHEMA_REF = '#/components/schemas/';
// io 'input': what travels on the wire (a field with a default may be left out).
// Refinements (check digits, canonical base64url, amounts) have no JSON Schema
// form and are left out: the document is a contract for shapes, the server
// still enforces every rule. 'any' turns what cannot be represented into {}.
const TO_JSON = { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' } as const;

const REASON: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content' };

/** Builds the OpenAPI 3.1 document. Throws on a description that cannot be right (a path parameter without a schema, a name used twice). */
export function openApiDocument<C extends string, S extends string>(api: ApiDescription<C, S>): OpenApiDocument {
  const components = new ComponentSet();
  components.add({ ErrorBody });
  const paths: OpenApiDocument['paths'] = {};
  const operationIds = new Set<string>();
  for (const r of api.routes) {
    const path = openApiPath(r.path);
    const method = r.method.toLowerCase();
    const item = (paths[path] ??= {});
    if (item[method]) throw new Error(`openapi: ${r.method} ${r.path} is described twice`);
    const operationId = operationIdOf(r.method, r.path);
    if (operationIds.has(operationId)) throw new Error(`openapi: operation id ${operationId} is used twice`);
    operationIds.add(operationId);
    item[method] = operation(api, r, operationId, components);
  }
  const securitySchemes: Record<string, JsonObject> = {};
  for (const [name, scheme] of Object.entries<SecurityScheme>(api.securitySchemes)) securitySchemes[name] = { ...scheme };
  return {
    openapi: '3.1.0',
    info: { title: api.title, version: API_VERSION, description: api.description },
    paths,
    components: { schemas: components.toJsonSchemas(), securitySchemes },
  };
}

/** Fastify's `/v1/x/:id` as OpenAPI's `/v1/x/{id}`; wildcards and regex parameters have no OpenAPI form. */
export function openApiPath(path: string): string {
  if (!path.startsWith('/') || /[*()]|::/.test(path)) throw new Error(`openapi: cannot describe path ${path}`);
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function pathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
}

function operationIdOf(method: HttpMethod, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((seg) => (seg.startsWith(':') ? `By-${seg.slice(1)}` : seg))
    .flatMap((seg) => seg.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

function operation<C extends string, S extends string>(api: ApiDescription<C, S>, r: RouteDoc<C, S>, operationId: string, components: ComponentSet): JsonObject {
  const op: JsonObject = { operationId, summary: r.summary };
  if (r.description !== undefined) op.description = r.description;
  if (r.tags !== undefined) op.tags = [...r.tags];
  const parameters = [...pathParameters(r), ...(r.query ? objectParameters(r.query, 'query', `${r.method} ${r.path} query`) : [])];
  if (parameters.length > 0) op.parameters = parameters;
  if (r.body) {
    op.requestBody = { required: r.optionalBody !== true, content: { 'application/json': { schema: components.ref(r.body) } } };
  }
  if (r.security !== undefined) {
    for (const s of r.security) {
      if (s !== 'none' && !(s in api.securitySchemes)) throw new Error(`openapi: ${r.method} ${r.path} names unknown security scheme ${s}`);
    }
    op.security = r.security.map((s) => (s === 'none' ? {} : { [s]: [] }));
  }
  op.responses = { ...successResponses(r, components), ...errorResponses(api, r, components) };
  return op;
}

function pathParameters(r: RouteDoc<string, string>): JsonObject[] {
  const names = pathParamNames(r.path);
  if (names.length === 0) {
    if (r.params) throw new Error(`openapi: ${r.method} ${r.path} has a params schema but no path parameter`);
    return [];
  }
  if (!r.params) throw new Error(`openapi: ${r.method} ${r.path} needs the params schema the handler parses`);
  const params = objectParameters(r.params, 'path', `${r.method} ${r.path} params`);
  const described = params.map((p) => p.name as string).sort();
  if (described.join() !== [...names].sort().join()) throw new Error(`openapi: ${r.method} ${r.path}: path parameters ${names.join()} but schema has ${described.join()}`);
  for (const p of params) if (p.required !== true) throw new Error(`openapi: ${r.method} ${r.path}: path parameter ${String(p.name)} must be required`);
  return params;
}

/** One parameter per property of an object schema (path or query string). */
function objectParameters(schema: z.ZodType, where: 'path' | 'query', what: string): JsonObject[] {
  const json = z.toJSONSchema(schema, TO_JSON) as JsonObject;
  const properties = json.properties;
  if (json.type !== 'object' || typeof properties !== 'object' || properties === null || Array.isArray(properties)) {
    throw new Error(`openapi: ${what} is not an object schema`);
  }
  const required = new Set(Array.isArray(json.required) ? json.required : []);
  return Object.entries(properties).map(([name, s]) => {
    const p: JsonObject = { name, in: where, required: required.has(name), schema: s };
    if (s !== null && typeof s === 'object' && !Array.isArray(s) && typeof s.description === 'string') p.description = s.description;
    return p;
  });
}

function successResponses(r: RouteDoc<string, string>, components: ComponentSet): JsonObject {
  const out: JsonObject = {};
  const entries = Object.entries(r.ok);
  if (entries.length === 0) throw new Error(`openapi: ${r.method} ${r.path} describes no success answer`);
  for (const [status, answer] of entries) {
    if (!/^[23][0-9]{2}$/.test(status)) throw new Error(`openapi: ${r.method} ${r.path}: ${status} is not a success status`);
    if (answer instanceof MediaAnswer) {
      out[status] = { description: answer.description, content: { [answer.mediaType]: answer.schema ? { schema: components.ref(answer.schema) } : {} } };
    } else {
      const [name] = Object.keys(answer);
      out[status] = { description: `${REASON[Number(status)] ?? status}: ${name}`, content: { 'application/json': { schema: components.ref(answer) } } };
    }
  }
  return out;
}

/** The codes the fixed request pipeline (STYLE.md) can answer before the route's own rules. */
function pipelineCodes(r: RouteDoc<string, string>): HttpErrorCode[] {
  const codes: HttpErrorCode[] = [];
  if (r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH') codes.push('HTTP_BODY_TOO_LARGE', 'HTTP_UNSUPPORTED_MEDIA_TYPE', 'HTTP_JSON_MALFORMED');
  if (r.params || r.query || r.body) codes.push('HTTP_SCHEMA_INVALID');
  const schemes = (r.security ?? []).filter((s) => s !== 'none');
  if (schemes.length > 0) {
    if (!(r.security ?? []).includes('none')) codes.push('HTTP_AUTH_REQUIRED');
    codes.push('HTTP_AUTH_INVALID');
  }
  if (r.rateLimited) codes.push('HTTP_RATE_LIMITED');
  codes.push('HTTP_INTERNAL');
  return codes;
}

function errorResponses<C extends string, S extends string>(api: ApiDescription<C, S>, r: RouteDoc<C, S>, components: ComponentSet): JsonObject {
  const pipeline = pipelineCodes(r);
  const own = r.codes ?? [];
  const byStatus = new Map<number, { codes: Set<string>; bodies: Set<Named> }>();
  const add = (code: string, body: Named) => {
    const status = statusOf(api, code);
    if (status === undefined) throw new Error(`openapi: ${r.method} ${r.path}: code ${code} has no status`);
    const group = byStatus.get(status) ?? { codes: new Set<string>(), bodies: new Set<Named>() };
    group.codes.add(code);
    group.bodies.add(body);
    byStatus.set(status, group);
  };
  const errorBody: Named = { ErrorBody };
  // The pipeline answers before the route runs: always the plain error body.
  for (const code of pipeline) add(code, errorBody);
  for (const code of own) add(code, r.errorBody ?? errorBody);
  const out: JsonObject = {};
  for (const [status, group] of [...byStatus.entries()].sort((a, b) => a[0] - b[0])) {
    const codes = [...group.codes].sort();
    const refs = [...group.bodies].map((b) => components.ref(b));
    const shape: JsonObject = refs.length === 1 ? refs[0]! : { anyOf: refs };
    out[String(status)] = {
      description: codes.join(', '),
      content: { 'application/json': { schema: { allOf: [shape, { type: 'object', properties: { code: { enum: codes } } }] } } },
    };
  }
  return out;
}

function statusOf<C extends string, S extends string>(api: ApiDescription<C, S>, code: string): number | undefined {
  if (Object.hasOwn(HTTP_STATUS, code)) return HTTP_STATUS[code as HttpErrorCode];
  if (Object.hasOwn(api.statusOf, code)) return api.statusOf[code as C];
  return undefined;
}

/** The named schemas of one document; each becomes #/components/schemas/<name>, and a named schema inside another becomes a $ref. */
class ComponentSet {
  readonly #byName = new Map<string, z.ZodType>();
  readonly #nameOf = new Map<z.ZodType, string>();

  add(named: Named): string {
    const entries = Object.entries(named);
    if (entries.length !== 1) throw new Error(`openapi: expected one named schema, got ${entries.map(([n]) => n).join() || 'none'}`);
    const [name, schema] = entries[0]!;
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`openapi: ${name} is not a component name`);
    const known = this.#byName.get(name);
    if (known !== undefined && known !== schema) throw new Error(`openapi: two different schemas are named ${name}`);
    const other = this.#nameOf.get(schema);
    if (other !== undefined && other !== name) throw new Error(`openapi: one schema is named both ${other} and ${name}`);
    this.#byName.set(name, schema);
    this.#nameOf.set(schema, name);
    return name;
  }

  ref(named: Named): JsonObject {
    return { $ref: SCHEMA_REF + this.add(named) };
  }

  toJsonSchemas(): Record<string, JsonObject> {
    const registry = z.registry<{ id: string }>();
    for (const [name, schema] of this.#byName) registry.add(schema, { id: name });
    const { schemas } = z.toJSONSchema(registry, { ...TO_JSON, uri: (id) => SCHEMA_REF + id });
    const out: Record<string, JsonObject> = {};
    for (const name of [...this.#byName.keys()].sort()) {
      // Embedded in the document, a schema carries neither its own dialect nor
      // an $id (a fragment-only $id is not allowed in 2020-12).
      const { $schema: _dialect, $id: _id, ...rest } = schemas[name] as JsonObject;
      out[name] = rest;
    }
    return out;
  }
}

/** Builds the document once, on first use: nothing happens at import time or per request. */
export function lazyDocument(build: () => OpenApiDocument): () => OpenApiDocument {
  let built: OpenApiDocument | undefined;
  return () => (built ??= build());
}
