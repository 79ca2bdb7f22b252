// A small local stand-in for the LaunchDarkly REST API v2 flag endpoints, strict about the wire format
// (from LaunchDarkly's OpenAPI spec, ld-openapi as published in launchdarkly/api-client-go v22):
//   GET    /api/v2/flags/{projectKey}/{flagKey}[?env=k]   → FeatureFlag (environments filtered by env)
//   POST   /api/v2/flags/{projectKey}                     → create (boolean flag by default)
//   PATCH  /api/v2/flags/{projectKey}/{flagKey}[?ignoreConflicts=true]
//          Content-Type: application/json; domain-model=launchdarkly.semanticpatch
//          {environmentKey, comment?, instructions: [{kind, ...}]}  — all or nothing
//   DELETE /api/v2/flags/{projectKey}/{flagKey}
// Errors use LD's shape {code, message}: 401 unauthorized, 403 forbidden (a token whose role may only read),
// 404 not_found, 400 invalid_request, 405 method_not_allowed (approvals required), 409 optimistic_locking_error
// (concurrent change), 429 rate_limited (with Retry-After).
// It keeps flag state in memory and can be told to answer approval-required / conflict / rate limited.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface LdVariation {
  _id: string;
  value: unknown;
  name?: string;
}
export interface LdRollout {
  variations: { variation: number; weight: number }[];
  bucketBy?: string;
  contextKind?: string;
}
export interface LdFallthrough {
  variation?: number;
  rollout?: LdRollout;
}
export interface LdEnvironment {
  on: boolean;
  archived: boolean;
  salt: string;
  version: number;
  lastModified: number;
  fallthrough: LdFallthrough;
  offVariation: number;
  rules: unknown[];
  targets: unknown[];
  contextTargets: unknown[];
}
export interface LdFlag {
  key: string;
  name: string;
  kind: 'boolean' | 'multivariate';
  _version: number;
  creationDate: number;
  variations: LdVariation[];
  temporary: boolean;
  archived: boolean;
  tags: string[];
  environments: Record<string, LdEnvironment>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | undefined>;
  body: unknown;
}

const SEMANTIC_PATCH = 'domain-model=launchdarkly.semanticpatch';
const ENV_INSTRUCTIONS = new Set(['turnFlagOn', 'turnFlagOff', 'updateFallthroughVariationOrRollout', 'updateOffVariation']);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class LaunchDarklyFake {
  readonly requests: RecordedRequest[] = [];
  private readonly flags = new Map<string, LdFlag>(); // key: `${project}/${flag}`
  private server?: Server;
  /** environments whose flag changes need an approval request (PATCH answers 405) */
  readonly approvalRequired = new Set<string>();
  /** answer the next N PATCHes with 409 optimistic_locking_error */
  conflictsToAnswer = 0;
  /** a pending scheduled change / approval request exists: PATCH answers 400 unless ignoreConflicts=true */
  pendingChangeConflict = false;
  /** tokens that are valid but whose role may only read: any write answers 403 forbidden */
  readonly readOnlyTokens = new Set<string>();
  /** answer the next N requests with 429 rate_limited and Retry-After: 1 */
  rateLimitedToAnswer = 0;
  url = '';

  constructor(
    readonly token: string,
    readonly projectKey = 'default',
    readonly environments = ['production', 'test'],
  ) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    const addr = this.server.address();
    this.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** Seeds a flag the way LD would hold it (a test's "someone configured this before the ramp"). */
  seed(flag: Partial<LdFlag> & { key: string }, envs: Record<string, Partial<LdEnvironment>> = {}): LdFlag {
    const created = this.newFlag({ key: flag.key, name: flag.name ?? flag.key, variations: flag.variations });
    for (const [env, cfg] of Object.entries(envs)) Object.assign(created.environments[env], cfg);
    this.flags.set(`${this.projectKey}/${flag.key}`, created);
    return structuredClone(created);
  }

  flag(key: string): LdFlag | undefined {
    const f = this.flags.get(`${this.projectKey}/${key}`);
    return f && structuredClone(f);
  }

  private newFlag(body: { key: string; name: string; variations?: { value: unknown; name?: string }[] }): LdFlag {
    const variations = (body.variations ?? [{ value: true }, { value: false }]).map((v) => ({ _id: randomUUID(), ...v }));
    const now = Date.now();
    const environments: Record<string, LdEnvironment> = {};
    for (const env of this.environments) {
      // LD's defaults for a new flag: off, serves variation 1 when off and variation 0 by default when on.
      environments[env] = {
        on: false,
        archived: false,
        salt: randomUUID().replace(/-/g, ''),
        version: 1,
        lastModified: now,
        fallthrough: { variation: 0 },
        offVariation: 1,
        rules: [],
        targets: [],
        contextTargets: [],
      };
    }
    const kind = variations.length === 2 && variations.every((v) => typeof v.value === 'boolean') ? 'boolean' : 'multivariate';
    return { key: body.key, name: body.name, kind, _version: 1, creationDate: now, variations, temporary: true, archived: false, tags: [], environments };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    const rec: RecordedRequest = {
      method: req.method ?? '',
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: {
        authorization: req.headers.authorization,
        'content-type': req.headers['content-type'],
        'ld-api-version': req.headers['ld-api-version'] as string | undefined,
      },
      body: undefined,
    };
    this.requests.push(rec);
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...headers, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    try {
      if (this.rateLimitedToAnswer > 0) {
        this.rateLimitedToAnswer--;
        return send(429, { code: 'rate_limited', message: "You've exceeded the API rate limit. Try again later." }, { 'Retry-After': '1' });
      }
      const auth = req.headers.authorization ?? '';
      if (auth !== this.token && !this.readOnlyTokens.has(auth)) throw new HttpError(401, 'unauthorized', 'Invalid access token');
      if (this.readOnlyTokens.has(auth) && req.method !== 'GET') {
        throw new HttpError(403, 'forbidden', 'Access to the requested resource was denied');
      }
      if (raw) {
        try {
          rec.body = JSON.parse(raw);
        } catch {
          throw new HttpError(400, 'invalid_request', 'Invalid request body: not JSON');
        }
      }
      const m = /^\/api\/v2\/flags\/([^/]+)(?:\/([^/]+))?$/.exec(u.pathname);
      if (!m) throw new HttpError(404, 'not_found', 'Invalid resource identifier');
      const project = decodeURIComponent(m[1]);
      if (project !== this.projectKey) throw new HttpError(404, 'not_found', 'Unknown project');
      if (!m[2]) {
        if (req.method !== 'POST') throw new HttpError(405, 'method_not_allowed', 'Method not allowed');
        return send(201, this.create(project, rec.body));
      }
      const id = `${project}/${decodeURIComponent(m[2])}`;
      const flag = this.flags.get(id);
      if (!flag) throw new HttpError(404, 'not_found', 'Invalid resource identifier');
      if (req.method === 'GET') return send(200, view(flag, u.searchParams.get('env')));
      if (req.method === 'DELETE') {
        this.flags.delete(id);
        return send(204);
      }
      if (req.method === 'PATCH') {
        this.patch(flag, req.headers['content-type'] ?? '', rec.body, u.searchParams.get('ignoreConflicts') === 'true');
        return send(200, view(flag, null));
      }
      throw new HttpError(405, 'method_not_allowed', 'Method not allowed');
    } catch (err) {
      if (err instanceof HttpError) return send(err.status, { code: err.code, message: err.message, id: randomUUID() });
      send(500, { code: 'internal_server_error', message: String(err) });
    }
  }

  private create(project: string, body: unknown): LdFlag {
    const b = body as { key?: unknown; name?: unknown; variations?: unknown } | undefined;
    if (!b || typeof b.key !== 'string' || !/^[A-Za-z0-9._-]+$/.test(b.key) || typeof b.name !== 'string') {
      throw new HttpError(400, 'invalid_request', 'key and name are required');
    }
    if (this.flags.has(`${project}/${b.key}`)) throw new HttpError(409, 'conflict', 'A feature with that key already exists');
    const flag = this.newFlag({ key: b.key, name: b.name, variations: b.variations as LdVariation[] | undefined });
    this.flags.set(`${project}/${b.key}`, flag);
    return view(flag, null);
  }

  private patch(flag: LdFlag, contentType: string, body: unknown, ignoreConflicts: boolean): void {
    // Without the semantic-patch content type LD reads the body as a JSON patch and rejects an object body.
    const params = contentType.split(';').map((s) => s.trim());
    if (params[0] !== 'application/json' || !params.includes(SEMANTIC_PATCH)) {
      throw new HttpError(400, 'invalid_request', 'Invalid JSON patch: expected an array of patch operations');
    }
    const b = body as { environmentKey?: unknown; comment?: unknown; instructions?: unknown } | undefined;
    if (!b || typeof b !== 'object') throw new HttpError(400, 'invalid_request', 'Invalid request body');
    for (const k of Object.keys(b)) {
      if (!['environmentKey', 'comment', 'instructions'].includes(k)) throw new HttpError(400, 'invalid_request', `unknown field ${k}`);
    }
    if (b.comment !== undefined && typeof b.comment !== 'string') throw new HttpError(400, 'invalid_request', 'comment must be a string');
    if (!Array.isArray(b.instructions) || b.instructions.length === 0) {
      throw new HttpError(400, 'invalid_request', 'instructions must be a non-empty array');
    }
    const envKey = b.environmentKey;
    const needsEnv = b.instructions.some((i) => ENV_INSTRUCTIONS.has((i as { kind?: string })?.kind ?? ''));
    if (needsEnv && typeof envKey !== 'string') throw new HttpError(400, 'invalid_request', 'environmentKey is required for these instructions');
    if (typeof envKey === 'string' && !flag.environments[envKey]) throw new HttpError(400, 'invalid_request', `unknown environment ${envKey}`);
    if (typeof envKey === 'string' && this.approvalRequired.has(envKey)) {
      throw new HttpError(405, 'method_not_allowed', `This flag requires approval to be changed in environment ${envKey}`);
    }
    if (this.conflictsToAnswer > 0) {
      this.conflictsToAnswer--;
      throw new HttpError(409, 'optimistic_locking_error', 'Conflict. Optimistic lock error. Try again later.');
    }
    if (this.pendingChangeConflict && !ignoreConflicts) {
      throw new HttpError(400, 'invalid_request', 'This change conflicts with a pending scheduled change or approval request');
    }
    // All or nothing: apply to a copy, commit only if every instruction is valid.
    const env = structuredClone(flag.environments[envKey as string]);
    for (const ins of b.instructions as Record<string, unknown>[]) applyInstruction(flag, env, ins);
    const before = JSON.stringify(flag.environments[envKey as string]);
    if (JSON.stringify(env) !== before) {
      env.version++;
      env.lastModified = Date.now();
      flag._version++;
    }
    flag.environments[envKey as string] = env;
  }
}

function applyInstruction(flag: LdFlag, env: LdEnvironment, ins: Record<string, unknown>): void {
  const allow = (fields: string[]) => {
    for (const k of Object.keys(ins)) {
      if (k !== 'kind' && !fields.includes(k)) throw new HttpError(400, 'invalid_request', `unexpected field ${k} in ${String(ins.kind)}`);
    }
  };
  const indexOf = (id: unknown) => {
    const i = flag.variations.findIndex((v) => v._id === id);
    if (typeof id !== 'string' || i < 0) throw new HttpError(400, 'invalid_request', `unknown variation ID ${String(id)}`);
    return i;
  };
  switch (ins.kind) {
    case 'turnFlagOn':
      allow([]);
      env.on = true;
      return;
    case 'turnFlagOff':
      allow([]);
      env.on = false;
      return;
    case 'updateOffVariation':
      allow(['variationId']);
      env.offVariation = indexOf(ins.variationId);
      return;
    case 'updateFallthroughVariationOrRollout': {
      allow(['variationId', 'rolloutWeights', 'rolloutBucketBy', 'rolloutContextKind']);
      const hasVariation = ins.variationId !== undefined;
      const hasWeights = ins.rolloutWeights !== undefined;
      if (hasVariation === hasWeights) throw new HttpError(400, 'invalid_request', 'give either variationId or rolloutWeights');
      if (hasVariation) {
        if (ins.rolloutBucketBy !== undefined || ins.rolloutContextKind !== undefined) {
          throw new HttpError(400, 'invalid_request', 'rolloutBucketBy / rolloutContextKind need rolloutWeights');
        }
        env.fallthrough = { variation: indexOf(ins.variationId) };
        return;
      }
      const w = ins.rolloutWeights;
      if (!w || typeof w !== 'object' || Array.isArray(w)) throw new HttpError(400, 'invalid_request', 'rolloutWeights must be an object');
      const variations: { variation: number; weight: number }[] = [];
      let sum = 0;
      for (const [id, weight] of Object.entries(w)) {
        if (!Number.isInteger(weight) || (weight as number) < 0 || (weight as number) > 100000) {
          throw new HttpError(400, 'invalid_request', `weight for ${id} must be an integer 0..100000`);
        }
        variations.push({ variation: indexOf(id), weight: weight as number });
        sum += weight as number;
      }
      if (sum !== 100000) throw new HttpError(400, 'invalid_request', `rollout weights must sum to 100000, got ${sum}`);
      for (const k of ['rolloutBucketBy', 'rolloutContextKind'] as const) {
        if (ins[k] !== undefined && typeof ins[k] !== 'string') throw new HttpError(400, 'invalid_request', `${k} must be a string`);
      }
      variations.sort((a, b) => a.variation - b.variation);
      const rollout: LdRollout = { variations };
      if (ins.rolloutBucketBy !== undefined) rollout.bucketBy = ins.rolloutBucketBy as string;
      rollout.contextKind = (ins.rolloutContextKind as string | undefined) ?? 'user';
      env.fallthrough = { rollout };
      return;
    }
    default:
      throw new HttpError(400, 'invalid_request', `unknown or unsupported instruction kind ${JSON.stringify(ins.kind)}`);
  }
}

function view(flag: LdFlag, env: string | null): LdFlag {
  const copy = structuredClone(flag);
  if (env) copy.environments = env in copy.environments ? { [env]: copy.environments[env] } : {};
  return copy;
}
