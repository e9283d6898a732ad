// GET /openapi.json on every server: the document is valid OpenAPI 3.1, it
// describes exactly the routes the server serves (so nobody can add a route
// without describing it in src/<party>/openapi.ts), and what it says about
// parameters, bodies and answers is what the handlers do.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import dc from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { openApiDocument, openApiPath, routeBuilder, type OpenApiDocument } from '../../src/http/openapi.ts';
import { ADMIN_TOKEN as MERCHANT_ADMIN_TOKEN, startTestMerchant } from '../merchant/harness.ts';
import { makeCsr, registration, startTestCa } from '../ca/harness.ts';
import { op as bankOperator, startTestBank } from '../bank/harness.ts';
import { startTestPayment } from '../payment/harness.ts';
import { testDatabases } from '../helpers/db.ts';

// The document does not depend on the database: SQLite is enough here.
const sqlite = testDatabases()[0]!;

type Running = { app: FastifyInstance; close: () => Promise<void> };

/**
 * Starts a server and records every route it registers. Fastify publishes each
 * new instance on the `fastify.initialization` diagnostics channel before any
 * route exists, which is the documented way to add an onRoute hook from outside.
 */
async function withRoutes<T extends Running>(start: () => Promise<T>): Promise<{ server: T; served: string[] }> {
  const served = new Set<string>();
  const onInit = (message: unknown) => {
    const { fastify } = message as { fastify: FastifyInstance };
    fastify.addHook('onRoute', (r: RouteOptions) => {
      // Web pages (src/http/ui.ts) are not API routes.
      if ((r.config as { ui?: boolean } | undefined)?.ui === true) return;
      for (const method of [r.method].flat()) served.add(`${method} ${r.url}`);
    });
  };
  dc.subscribe('fastify.initialization', onInit);
  try {
    const server = await start();
    return { server, served: [...served] };
  } finally {
    dc.unsubscribe('fastify.initialization', onInit);
  }
}

// HEAD is Fastify's automatic twin of each GET; these two are not API routes.
const UNDOCUMENTED = new Set(['/openapi.json', '/healthz']);

function apiRoutes(served: readonly string[]): string[] {
  return served
    .filter((r) => !r.startsWith('HEAD ') && !UNDOCUMENTED.has(r.slice(r.indexOf(' ') + 1)))
    .map((r) => {
      const [method, path] = r.split(' ') as [string, string];
      return `${method} ${openApiPath(path)}`;
    })
    .sort();
}

function documentedRoutes(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

async function fetchDocument(app: FastifyInstance): Promise<OpenApiDocument> {
  const res = await app.inject({ method: 'GET', url: '/openapi.json' });
  assert.equal(res.statusCode, 200, res.body);
  assert.match(String(res.headers['content-type']), /^application\/json/);
  return res.json<OpenApiDocument>();
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function pointer(doc: unknown, ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `only local $refs: ${ref}`);
  let at: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

function* refsIn(node: Json): Generator<string> {
  if (Array.isArray(node)) for (const n of node) yield* refsIn(n);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') yield v;
      else yield* refsIn(v);
    }
  }
}

/** The shape checks every server's document must pass, beyond the OpenAPI 3.1 JSON Schema. */
async function assertWellFormed(doc: OpenApiDocument): Promise<void> {
  const result = await new Validator().validate(structuredClone(doc) as unknown as Record<string, unknown>);
  assert.equal(result.valid, true, JSON.stringify(result.errors));
  assert.match(doc.openapi, /^3\.1\.\d+$/);
  assert.ok(doc.info.title && doc.info.version, 'info has a title and a version');
  for (const ref of refsIn(doc as unknown as Json)) assert.notEqual(pointer(doc, ref), undefined, `$ref ${ref} resolves`);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const where = `${method.toUpperCase()} ${path}`;
      const responses = op.responses as Record<string, { content?: Record<string, { schema?: Json }> }> | undefined;
      assert.ok(responses && Object.keys(responses).length > 0, `${where} has responses`);
      assert.ok(Object.keys(responses).some((s) => /^2\d\d$/.test(s)), `${where} has a success answer`);
      // Any route can fail inside: 500 HTTP_INTERNAL is always listed, with the coded error shape.
      const internal = responses['500']?.content?.['application/json']?.schema;
      assert.ok(internal, `${where} lists 500`);
      assert.ok(JSON.stringify(internal).includes('"HTTP_INTERNAL"'), `${where}: 500 names HTTP_INTERNAL`);
      for (const [status, r] of Object.entries(responses)) {
        if (/^[45]\d\d$/.test(status)) assert.ok(JSON.stringify(r).includes('#/components/schemas/'), `${where} ${status} has an error schema`);
      }
    }
  }
}

const DOC_ID = 'https://openapi.invalid/document.json';

/** JSON Schema validators for places in the document (a request body, an answer, a parameter). */
function schemaAt(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ ...structuredClone(doc), $id: DOC_ID });
  const esc = (p: string) => p.replace(/~/g, '~0').replace(/\//g, '~1');
  const at = (...parts: string[]): ValidateFunction => {
    const ref = `#/${parts.map(esc).join('/')}`;
    assert.notEqual(pointer(doc, ref), undefined, `the document has ${ref}`);
    return ajv.compile({ $ref: DOC_ID + ref });
  };
  return {
    body: (path: string, method: string) => at('paths', path, method, 'requestBody', 'content', 'application/json', 'schema'),
    answer: (path: string, method: string, status: number) => at('paths', path, method, 'responses', String(status), 'content', 'application/json', 'schema'),
    parameter: (path: string, method: string, name: string) => {
      const params = pointer(doc, `#/${['paths', path, method, 'parameters'].map(esc).join('/')}`) as { name: string }[];
      const i = params.findIndex((p) => p.name === name);
      assert.ok(i >= 0, `${method} ${path} documents parameter ${name}`);
      return at('paths', path, method, 'parameters', String(i), 'schema');
    },
    component: (name: string) => at('components', 'schemas', name),
  };
}

/** Every schema in the document compiles (patterns are valid `u` regular expressions, every $ref resolves). */
function assertCompiles(doc: OpenApiDocument): void {
  const s = schemaAt(doc);
  for (const name of Object.keys(doc.components.schemas)) s.component(name);
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      for (const p of (op.parameters ?? []) as { name: string }[]) s.parameter(path, method, p.name);
      for (const status of Object.keys(op.responses as object)) {
        if (pointer(doc, `#/paths/${path.replace(/\//g, '~1')}/${method}/responses/${status}/content/application~1json/schema`)) s.answer(path, method, Number(status));
      }
    }
  }
}

function assertSameRoutes(served: readonly string[], doc: OpenApiDocument, file: string): void {
  const api = apiRoutes(served);
  const documented = documentedRoutes(doc);
  assert.ok(api.length > 3, 'the hook saw the routes');
  assert.deepEqual(api.filter((r) => !documented.includes(r)), [], `served but not described: add them to ${file}`);
  assert.deepEqual(documented.filter((r) => !api.includes(r)), [], `described but not served: remove them from ${file}`);
}

/**
 * The checks every server's document passes, and one test of what its schemas
 * mean against the running handlers. A new server (e.g. the wallet daemon) is
 * one more call.
 */
function documentedServer<T extends Running>(name: string, file: string, start: () => Promise<T>, title: string, behaviour: (server: T, doc: OpenApiDocument) => Promise<void>): void {
  describe(name, () => {
    let server: T | undefined;
    let served: string[] = [];
    let doc: OpenApiDocument;
    before(async () => {
      ({ server, served } = await withRoutes(start));
      doc = await fetchDocument(server.app);
    });
    after(() => server?.close());

    test('serves a valid OpenAPI 3.1 document whose schemas all compile', async () => {
      await assertWellFormed(doc);
      assertCompiles(doc);
    });

    test('describes exactly the routes it serves', () => {
      assertSameRoutes(served, doc, file);
    });

    test(title, () => behaviour(server!, doc));
  });
}

describe('OpenAPI documents (/openapi.json)', () => {
  documentedServer('CA', 'src/ca/openapi.ts', () => startTestCa(sqlite), 'its registration body and answers are what the handler takes and gives', async (ca, doc) => {
    // z.strictObject → additionalProperties: false: an unknown field is refused by both.
    assert.equal(doc.components.schemas.RegistrationRequest!.additionalProperties, false);
    const s = schemaAt(doc);
    const body = s.body('/v1/registrations', 'post');
    const { pem } = await makeCsr();
    const good = registration(pem);
    for (const bad of [{ ...good, admin: true }, { ...good, csr: undefined }, { ...good, role: 'king' }]) {
      assert.equal(body(JSON.parse(JSON.stringify(bad))), false, `the document refuses ${JSON.stringify(Object.keys(bad))}`);
      const res = await ca.app.inject({ method: 'POST', url: '/v1/registrations', payload: bad });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'HTTP_SCHEMA_INVALID');
      assert.equal(s.answer('/v1/registrations', 'post', 400)(res.json()), true, 'the 400 answer is the documented error shape');
    }
    assert.equal(body(good), true, JSON.stringify(body.errors));
    const created = await ca.app.inject({ method: 'POST', url: '/v1/registrations', payload: good });
    assert.equal(created.statusCode, 201, created.body);
    const answer = s.answer('/v1/registrations', 'post', 201);
    assert.equal(answer(created.json()), true, JSON.stringify(answer.errors));
    // The documented code list is a contract: a code it does not list is refused by the schema.
    assert.equal(s.answer('/v1/registrations', 'post', 400)({ code: 'CA_SOMETHING_ELSE', message: 'x' }), false);

    // Operator routes name their security; public ones none.
    const approve = doc.paths['/v1/admin/registrations/{id}/approve']!.post!;
    assert.deepEqual(approve.security, [{ operatorToken: [] }, { operatorCertificate: [] }]);
    assert.ok(approve.responses && '401' in (approve.responses as object));
    assert.equal(doc.paths['/v1/registrations']!.post!.security, undefined);
    // Not every answer is JSON: the CRL is DER.
    const crl = doc.paths['/v1/ca/crl']!.get!.responses as Record<string, { content: object }>;
    assert.deepEqual(Object.keys(crl['200']!.content), ['application/pkix-crl']);
  });

  documentedServer('bank', 'src/bank/openapi.ts', () => startTestBank(sqlite), 'its query parameters and answers are what the handler takes and gives', async (bank, doc) => {
    const s = schemaAt(doc);
    const opened = await bank.app.inject({ method: 'POST', url: '/v1/accounts', headers: bankOperator, payload: { holder: 'hanako', currency: 'JPY' } });
    assert.equal(opened.statusCode, 201, opened.body);
    const openedSchema = s.answer('/v1/accounts', 'post', 201);
    assert.equal(openedSchema(opened.json()), true, JSON.stringify(openedSchema.errors));
    const id = opened.json<{ account: { accountId: string } }>().account.accountId;

    const limit = s.parameter('/v1/accounts/{id}/history', 'get', 'limit');
    for (const [value, accepted] of [[0, false], [501, false], [1, true], [500, true]] as const) {
      assert.equal(limit(value), accepted, `document: limit=${value}`);
      const res = await bank.app.inject({ method: 'GET', url: `/v1/accounts/${id}/history?limit=${value}`, headers: bankOperator });
      assert.equal(res.statusCode, accepted ? 200 : 400, `handler: limit=${value} ${res.body}`);
      if (accepted) assert.equal(s.answer('/v1/accounts/{id}/history', 'get', 200)(res.json()), true);
    }
    const history = doc.paths['/v1/accounts/{id}/history']!.get!;
    const params = history.parameters as { name: string; in: string; required: boolean }[];
    const idParam = params.find((p) => p.name === 'id');
    assert.equal(idParam?.in, 'path');
    assert.equal(idParam?.required, true);
    assert.equal(params.find((p) => p.name === 'wait')?.required, false, 'a query field with a default may be left out');

    const unauthenticated = await bank.app.inject({ method: 'GET', url: '/v1/accounts' });
    assert.equal(unauthenticated.statusCode, 401);
    assert.equal(s.answer('/v1/accounts', 'get', 401)(unauthenticated.json()), true, 'the 401 answer is documented');
  });

  documentedServer('payment server', 'src/payment/openapi.ts', () => startTestPayment(sqlite), 'its path parameters, bodies and answers are what the handler takes and gives', async (pay, doc) => {
    const s = schemaAt(doc);
    const coinPub = s.parameter('/v1/coins/{coinPub}', 'get', 'coinPub');
    const key = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!;
    assert.equal(coinPub(key), true);
    const state = await pay.app.inject({ method: 'GET', url: `/v1/coins/${key}` });
    assert.equal(state.statusCode, 200, state.body);
    assert.equal(s.answer('/v1/coins/{coinPub}', 'get', 200)(state.json()), true);
    const short = key.slice(0, 42);
    assert.equal(coinPub(short), false);
    const refused = await pay.app.inject({ method: 'GET', url: `/v1/coins/${short}` });
    assert.equal(refused.statusCode, 400);
    assert.equal(s.answer('/v1/coins/{coinPub}', 'get', 400)(refused.json()), true);

    // The withdrawal body: strict, and its envelopes bounded as the schema bounds them.
    const withdraw = s.body('/v1/reserves/{reservePub}/withdraw', 'post');
    const envelope = { denominationId: randomBytes(32).toString('base64url'), blindedMessage: randomBytes(256).toString('base64url') };
    const request = { requestId: randomBytes(16).toString('base64url'), reservePub: key, envelopes: [envelope], reserveSignature: randomBytes(64).toString('base64url') };
    const url = `/v1/reserves/${key}/withdraw`;
    for (const bad of [{ ...request, envelopes: [] }, { ...request, envelopes: Array.from({ length: 65 }, () => envelope) }, { ...request, fee: '0' }]) {
      assert.equal(withdraw(bad), false, 'the document refuses it');
      const res = await pay.app.inject({ method: 'POST', url, payload: bad });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().code, 'HTTP_SCHEMA_INVALID');
    }
    assert.equal(withdraw(request), true, JSON.stringify(withdraw.errors));
    // Past the schema, the handler checks the reserve key's signature: a documented 403.
    const unsigned = await pay.app.inject({ method: 'POST', url, payload: request });
    assert.equal(unsigned.statusCode, 403, unsigned.body);
    assert.equal(unsigned.json().code, 'PAY_RESERVE_SIGNATURE_INVALID');
    assert.equal(s.answer('/v1/reserves/{reservePub}/withdraw', 'post', 403)(unsigned.json()), true);
    const run = doc.paths['/v1/admin/settlements/run']!.post!;
    assert.deepEqual(run.security, [{ operatorToken: [] }]);
    assert.equal((run.requestBody as { required: boolean }).required, false, 'the run takes no body at all too');
  });

  documentedServer('merchant server', 'src/merchant/openapi.ts', () => startTestMerchant(sqlite), "its bodies and answers are the handler's, a refused receipt's signed refusal included", async (shop, doc) => {
    const s = schemaAt(doc);
    const catalogue = await shop.app.inject({ method: 'GET', url: '/v1/catalogue' });
    assert.equal(s.answer('/v1/catalogue', 'get', 200)(catalogue.json()), true);

    const hello = s.body('/v1/hello', 'post');
    const nonce = randomBytes(16).toString('base64url');
    assert.equal(hello({ nonce }), true);
    const signed = await shop.app.inject({ method: 'POST', url: '/v1/hello', payload: { nonce } });
    assert.equal(signed.statusCode, 200, signed.body);
    assert.equal(s.answer('/v1/hello', 'post', 200)(signed.json()), true, 'the answer is a JWS (general serialization)');
    for (const bad of [{ nonce, extra: 1 }, { nonce: 'short' }, {}]) {
      assert.equal(hello(bad), false, JSON.stringify(bad));
      const res = await shop.app.inject({ method: 'POST', url: '/v1/hello', payload: bad });
      assert.equal(res.statusCode, 400, JSON.stringify(bad));
    }

    // 400 on the receipt route: a signed refusal (ReceiptRefusal), which the document allows there and only there.
    const refused = await shop.app.inject({ method: 'POST', url: '/v1/orders/TX-1/receipt', payload: { receipt: 'not a JWS' } });
    assert.equal(refused.statusCode, 400, refused.body);
    assert.ok(refused.json().signedError, 'the refusal is signed');
    assert.equal(s.answer('/v1/orders/{transactionId}/receipt', 'post', 400)(refused.json()), true);
    assert.equal(s.answer('/v1/hello', 'post', 400)(refused.json()), false, 'ErrorBody elsewhere is strict');

    const admin = doc.paths['/v1/admin/orders']!.get!;
    assert.deepEqual(admin.security, [{ operatorToken: [] }]);
    for (const headers of [{}, { authorization: `Bearer ${MERCHANT_ADMIN_TOKEN}x` }]) {
      const refusedAdmin = await shop.app.inject({ method: 'GET', url: '/v1/admin/orders', headers });
      assert.equal(refusedAdmin.statusCode, 401);
      assert.equal(s.answer('/v1/admin/orders', 'get', 401)(refusedAdmin.json()), true, 'the 401 answer is documented');
    }
    const listed = await shop.app.inject({ method: 'GET', url: '/v1/admin/orders', headers: { authorization: `Bearer ${MERCHANT_ADMIN_TOKEN}` } });
    assert.equal(listed.statusCode, 200, listed.body);
  });
});

describe('openApiDocument', () => {
  const route = routeBuilder<'X_TAKEN' | 'X_GONE', 'token'>();
  const STATUS = { X_TAKEN: 409, X_GONE: 410 };
  const token = { token: { type: 'http', scheme: 'bearer', description: 't' } } as const;
  const Thing = z.strictObject({ name: z.string().max(10) });
  const build = (routes: ReturnType<typeof route>[]) => openApiDocument({ title: 't', description: 'd', statusOf: STATUS, securitySchemes: token, routes });

  test('paths, parameters, statuses of codes, pipeline codes and security come from the description', () => {
    const doc = build([
      route('POST', '/v1/things/:id', 'Make a thing', {
        security: ['token'],
        params: z.strictObject({ id: z.string().regex(/^[a-z]+$/) }),
        query: z.strictObject({ dry: z.enum(['yes', 'no']).optional() }),
        body: { Thing },
        ok: { 201: { Thing } },
        codes: ['X_TAKEN'],
      }),
    ]);
    const op = doc.paths['/v1/things/{id}']!.post!;
    assert.equal(op.operationId, 'postV1ThingsById');
    assert.deepEqual(op.parameters, [
      { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z]+$' } },
      { name: 'dry', in: 'query', required: false, schema: { type: 'string', enum: ['yes', 'no'] } },
    ]);
    assert.deepEqual(Object.keys(op.responses as object).sort(), ['201', '400', '401', '409', '413', '415', '500']);
    assert.deepEqual(op.security, [{ token: [] }]);
    assert.match(JSON.stringify((op.responses as Record<string, unknown>)['400']), /HTTP_JSON_MALFORMED.*HTTP_SCHEMA_INVALID/);
    assert.deepEqual(doc.components.schemas.Thing, { type: 'object', properties: { name: { type: 'string', maxLength: 10 } }, required: ['name'], additionalProperties: false });
  });

  test('a description that cannot be right is refused when the document is built', () => {
    const ok = { 200: { Thing } };
    const cases: [string, () => unknown][] = [
      ['path parameter without a schema', () => build([route('GET', '/v1/things/:id', 's', { ok })])],
      ['schema without the path parameter', () => build([route('GET', '/v1/things/:id', 's', { params: z.strictObject({ other: z.string() }), ok })])],
      ['optional path parameter', () => build([route('GET', '/v1/things/:id', 's', { params: z.strictObject({ id: z.string().optional() }), ok })])],
      ['two schemas under one name', () => build([route('GET', '/a', 's', { ok }), route('GET', '/b', 's', { ok: { 200: { Thing: z.strictObject({}) } } })])],
      ['a route described twice', () => build([route('GET', '/a', 's', { ok }), route('GET', '/a', 's', { ok })])],
      ['a wildcard path', () => build([route('GET', '/files/*', 's', { ok })])],
      ['no success answer', () => build([route('GET', '/a', 's', { ok: {} })])],
      ['an unknown security scheme', () => build([route('GET', '/a', 's', { ok, security: ['cookie' as 'token'] })])],
      ['a code without a status', () => build([route('GET', '/a', 's', { ok, codes: ['X_UNKNOWN' as 'X_GONE'] })])],
    ];
    for (const [what, make] of cases) assert.throws(make, /openapi:/, what);
  });

  test('bigints and transforms do not stop the document: they are described as far as JSON Schema can', () => {
    const Odd = z.strictObject({ n: z.bigint(), at: z.string().transform((s) => new Date(s)) });
    const doc = build([route('POST', '/odd', 's', { body: { Odd }, ok: { 200: { Odd } } })]);
    const schema = doc.components.schemas.Odd as { properties: Record<string, unknown>; additionalProperties: boolean };
    assert.deepEqual(schema.properties.at, { type: 'string' }, 'the wire (input) side of a transform');
    assert.deepEqual(schema.properties.n, {}, 'a bigint has no JSON form: any');
    assert.equal(schema.additionalProperties, false);
  });
});
