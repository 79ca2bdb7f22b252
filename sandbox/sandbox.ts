// The sandbox: a weighted router in front of per-version processes, plus the admin API the sandbox
// deployer and metrics provider talk to. Everything listens on 127.0.0.1.
//
// Traffic:  any path but /pin/… → the default service;  /svc/<service>/<path> or header x-quad-service → that one.
//           Split by exact proportions (error diffusion); on a sticky split a request with header
//           x-quad-user goes to the side that user was given when first seen (exact proportions),
//           kept while the split's percent and versions hold, so a user keeps one variant.
// Pinned:   /pin/<version>/svc/<service>/<path> → that version's own process whatever the split (a
//           version's own endpoint, for smoke checks before users reach it): 404 when it is not running,
//           400 on a bad version or service; counted in that version's stats like any request.
// Convert:  the router decides per visit whether it converts (the version's conversionRate, 3 % by
//           default, -convertN / -loseN in the version), only for a non-5xx answer; kept in its log.
// Retire:   a version that leaves the split keeps running (a revert finds it warm) until PUT .../retire,
//           unless startSandbox was given retireAfterMs.
// Flags:    with a flags file (the file flag provider's), a request with header x-quad-user gets every
//           flag of the file evaluated for that user; a flag on for it applies its behaviour (`bad` in
//           the name: 8 % HTTP 500, `slow`: +300 ms) and the request counts in the flag's on or off stats.
// Admin:    on adminPort when given, else under /admin on the main port.
//   PUT  /admin/services/{s}/traffic   {version, previousVersion, percent[, sticky]}  absolute, idempotent
//   GET  /admin/services/{s}/traffic   current split, with `sticky` (404 when never set)
//   PUT  /admin/services/{s}/prepare   {version}: that version up and listening, no traffic (idempotent)
//   PUT  /admin/services/{s}/retire    stop now every version the split does not route to
//   GET  /admin/services/{s}/changes   every applied change, in order
//   GET  /admin/services/{s}/stats?from=ms&to=ms&interval_s=N   per-version interval buckets; each
//        bucket's `versions` also holds `flag:<name>=on` / `flag:<name>=off` for the flag sides that saw
//        requests in it (cpuPct and memoryMb null: a flag side has no process of its own)
//   GET  /admin/services/{s}/logs?version=v&from=ms&to=ms[&min_level=warn][&limit=N]  the lines that
//        version wrote in [from, to) at min_level (default debug) or above, oldest first, at most limit
//        (default 5000, max 20000); `total` counts every line in the window, `truncated` says more matched
//   GET  /admin/services/{s}/conversions?from=ms&to=ms  {versions: {[v]: {visits, conversions}}}: the
//        requests each version answered in [from, to) and how many converted (every version it ran)
//   GET  /admin/services/{s}/versions  process state, pid, totals, first request / first error time
//   GET  /admin/services, GET /admin/health ({ok, routerUrl, adminOnRouter}: where the router listens,
//        for pinned URLs)
//   Stats buckets also carry each side's `conversions` (not part of the contract's SideAggregate).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { flagBehaviourFor, SERVICE_PATTERN, VERSION_PATTERN, type FlagBehaviour, type VersionBehaviour } from './behaviour';
import { evaluateFlags, FlagFileWatcher, USER_HEADER, type FlagValue } from './flags';
import { SandboxService, type TrafficSplit } from './service';
import { aggregateIntervals } from './stats';
import { SANDBOX_LOG_LEVELS, type SandboxLogLevel } from './logs';

export interface SandboxOptions {
  /** router port; 0 = any free port */
  port?: number;
  /** admin API on its own port; when absent the admin API is served under /admin on `port` */
  adminPort?: number;
  /** the service plain requests go to */
  defaultService?: string;
  /** services serving one version at 100 % from the start, e.g. { checkout: 'v1.2.3' } */
  initial?: Record<string, string>;
  /** per-version behaviour overrides; otherwise behaviour comes from the version string */
  behaviours?: Record<string, Partial<VersionBehaviour>>;
  /**
   * when given, a version no longer routed to is stopped this long after it left the split; by default it
   * keeps running until PUT .../retire, so a blue-green revert or a revert during bake finds it warm
   */
  retireAfterMs?: number;
  /** the file flag provider's JSON file; its flags are evaluated per request with a user ID */
  flagsFile?: string;
}

export interface Sandbox {
  url: string;
  adminUrl: string;
  port: number;
  adminPort: number;
  /** for in-process inspection (tests, benchmarks) */
  service(name: string): SandboxService | undefined;
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';
const MAX_BODY_BYTES = 64 * 1024;
const MAX_INTERVALS = 10_000;
const MAX_LOG_LINES = 20_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not JSON');
  }
}

function parseSplit(body: unknown): TrafficSplit {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b.version !== 'string' || !VERSION_PATTERN.test(b.version)) {
    throw new HttpError(400, `version must match ${VERSION_PATTERN}`);
  }
  const previous = b.previousVersion ?? null;
  if (previous !== null && (typeof previous !== 'string' || !VERSION_PATTERN.test(previous))) {
    throw new HttpError(400, `previousVersion must be null or match ${VERSION_PATTERN}`);
  }
  if (typeof b.percent !== 'number' || !Number.isFinite(b.percent) || b.percent < 0 || b.percent > 100) {
    throw new HttpError(400, 'percent must be a number from 0 to 100');
  }
  const sticky = b.sticky ?? false;
  if (typeof sticky !== 'boolean') throw new HttpError(400, 'sticky must be true or false');
  return { version: b.version, previousVersion: previous as string | null, percent: b.percent, sticky };
}

function finiteParam(params: URLSearchParams, name: string): number {
  const raw = params.get(name);
  const value = raw === null ? NaN : Number(raw);
  if (!Number.isFinite(value)) throw new HttpError(400, `query parameter ${name} must be a number`);
  return value;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const defaultService = options.defaultService ?? 'checkout';
  const behaviours = options.behaviours ?? {};
  const retireAfterMs = options.retireAfterMs ?? null;
  const services = new Map<string, SandboxService>();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const flagFile = options.flagsFile ? new FlagFileWatcher(options.flagsFile) : null;
  if (flagFile) await flagFile.refresh();
  const flagBehaviours = new Map<string, FlagBehaviour>();
  const separateAdmin = options.adminPort !== undefined;
  let routerUrl = ''; // known once the router listens

  async function flagsOf(req: http.IncomingMessage): Promise<FlagValue[]> {
    const user = req.headers[USER_HEADER];
    if (!flagFile || typeof user !== 'string' || user === '') return [];
    return evaluateFlags(await flagFile.current(), user);
  }

  /** What the flags on for this request do to it: which one fails it (if any), and the added latency. */
  function flagFault(flags: FlagValue[]): { failedBy: string | null; extraMs: number } {
    let failedBy: string | null = null;
    let extraMs = 0;
    for (const flag of flags) {
      if (!flag.on) continue;
      let behaviour = flagBehaviours.get(flag.name);
      if (!behaviour) flagBehaviours.set(flag.name, (behaviour = flagBehaviourFor(flag.name)));
      if (failedBy === null && behaviour.errorRate > 0 && Math.random() < behaviour.errorRate) failedBy = flag.name;
      extraMs += behaviour.extraLatencyMs;
    }
    return { failedBy, extraMs };
  }

  function getService(name: string, create: boolean): SandboxService | undefined {
    if (!SERVICE_PATTERN.test(name)) throw new HttpError(400, `service must match ${SERVICE_PATTERN}`);
    let service = services.get(name);
    if (!service && create) {
      service = new SandboxService(name, behaviours, retireAfterMs);
      services.set(name, service);
    }
    return service;
  }

  function trafficView(service: SandboxService) {
    return { service: service.name, ...service.traffic, changeCount: service.changes.length };
  }

  /** Apply a split and wait until every version that now gets traffic is listening. */
  async function applySplit(name: string, split: TrafficSplit) {
    const service = getService(name, true)!;
    const change = service.setTraffic(split);
    await Promise.all(service.servingVersions().map((v) => service.entry(v).process.ensureRunning()));
    return { ...trafficView(service), changed: change !== null };
  }

  async function handleAdmin(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split('/').filter(Boolean); // ['admin', 'services', name, what]
    if (parts[0] !== 'admin') throw new HttpError(404, 'not found');
    if (parts.length === 2 && parts[1] === 'health') return sendJson(res, 200, { ok: true, routerUrl, adminOnRouter: !separateAdmin });
    if (parts[1] !== 'services') throw new HttpError(404, 'not found');
    if (parts.length === 2 && req.method === 'GET') {
      return sendJson(res, 200, { services: [...services.values()].map(trafficView) });
    }
    if (parts.length !== 4) throw new HttpError(404, 'not found');
    const name = decodeURIComponent(parts[2]);
    const what = parts[3];

    if (what === 'traffic' && req.method === 'PUT') {
      const split = parseSplit(await readJson(req));
      return sendJson(res, 200, await applySplit(name, split));
    }
    if (what === 'prepare' && req.method === 'PUT') {
      // a version up and listening beside the serving one, with no traffic: idempotent
      const body = (await readJson(req)) as { version?: unknown } | null;
      const version = body?.version;
      if (typeof version !== 'string' || !VERSION_PATTERN.test(version)) throw new HttpError(400, `version must match ${VERSION_PATTERN}`);
      const service = getService(name, true)!;
      const entry = service.entry(version);
      await entry.process.ensureRunning();
      return sendJson(res, 200, { service: name, version, state: entry.process.state, pid: entry.process.pid });
    }
    if (what === 'retire' && req.method === 'PUT') {
      // stop, now, every version the split no longer routes to
      const service = getService(name, false);
      const stopped = service ? await service.retireNow() : [];
      return sendJson(res, 200, { service: name, stopped });
    }
    if (req.method !== 'GET') throw new HttpError(405, 'method not allowed');
    const service = getService(name, false);
    switch (what) {
      case 'traffic':
        if (!service?.traffic) throw new HttpError(404, `no traffic set for ${name}`);
        return sendJson(res, 200, trafficView(service));
      case 'changes':
        return sendJson(res, 200, { service: name, changes: service?.changes ?? [] });
      case 'versions':
        return sendJson(res, 200, {
          service: name,
          versions: [...(service?.versions.entries() ?? [])].map(([version, e]) => ({
            version,
            state: e.process.state,
            pid: e.process.pid,
            starts: e.process.starts,
            behaviour: e.process.behaviour,
            requests: e.log.total,
            errors: e.log.errors,
            firstRequestAt: e.log.firstRequestAt,
            firstErrorAt: e.log.firstErrorAt,
          })),
        });
      case 'logs': {
        const version = url.searchParams.get('version') ?? '';
        if (!VERSION_PATTERN.test(version)) throw new HttpError(400, `query parameter version must match ${VERSION_PATTERN}`);
        const from = finiteParam(url.searchParams, 'from');
        const to = finiteParam(url.searchParams, 'to');
        if (!(to > from)) throw new HttpError(400, 'to must be after from');
        const minLevel = url.searchParams.get('min_level') ?? 'debug';
        if (!SANDBOX_LOG_LEVELS.includes(minLevel as SandboxLogLevel)) throw new HttpError(400, `min_level must be one of ${SANDBOX_LOG_LEVELS.join(', ')}`);
        const limit = url.searchParams.has('limit') ? finiteParam(url.searchParams, 'limit') : 5000;
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LOG_LINES) throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_LOG_LINES}`);
        // a version that never ran has written nothing: an empty answer, as a log store gives for an empty stream
        const found = service?.versions.get(version)?.process.logs.between(from, to, minLevel as SandboxLogLevel, limit);
        return sendJson(res, 200, { service: name, version, from, to, ...(found ?? { lines: [], total: 0, truncated: false }) });
      }
      case 'conversions': {
        const from = finiteParam(url.searchParams, 'from');
        const to = finiteParam(url.searchParams, 'to');
        if (!(to > from)) throw new HttpError(400, 'to must be after from');
        const versions: Record<string, { visits: number; conversions: number }> = {};
        for (const [version, e] of service?.versions ?? []) versions[version] = e.log.conversionsBetween(from, to);
        return sendJson(res, 200, { service: name, from, to, versions });
      }
      case 'stats': {
        const from = finiteParam(url.searchParams, 'from');
        const to = finiteParam(url.searchParams, 'to');
        const intervalS = finiteParam(url.searchParams, 'interval_s');
        if (!(to > from)) throw new HttpError(400, 'to must be after from');
        if (!(intervalS >= 0.1)) throw new HttpError(400, 'interval_s must be at least 0.1');
        if ((to - from) / (intervalS * 1000) > MAX_INTERVALS) throw new HttpError(400, 'too many intervals');
        const sources = [...(service?.versions.entries() ?? [])].map(([version, e]) => ({
          version,
          log: e.log,
          usageBetween: (a: number, b: number) => e.process.usageBetween(a, b),
        }));
        const intervals = aggregateIntervals(sources, from, to, intervalS, service?.flagVariants() ?? []);
        return sendJson(res, 200, { service: name, from, to, intervalS, intervals });
      }
      default:
        throw new HttpError(404, 'not found');
    }
  }

  function userOf(req: http.IncomingMessage): string | undefined {
    const user = req.headers[USER_HEADER];
    return typeof user === 'string' && user !== '' ? user : undefined;
  }

  /** A pinned request's version and service, validated; null when the path is not /pin/…. */
  function pinTarget(url: URL): { version: string; name: string; path: string } | null {
    if (url.pathname !== '/pin' && !url.pathname.startsWith('/pin/')) return null;
    const match = /^\/pin\/([^/]+)\/svc\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!match) throw new HttpError(400, 'a pinned request is /pin/<version>/svc/<service>/<path>');
    const decode = (part: string) => {
      try {
        return decodeURIComponent(part);
      } catch {
        throw new HttpError(400, `bad escape in ${part}`);
      }
    };
    const version = decode(match[1]);
    if (!VERSION_PATTERN.test(version)) throw new HttpError(400, `version must match ${VERSION_PATTERN}`);
    return { version, name: decode(match[2]), path: (match[3] ?? '/') + url.search };
  }

  function routeTarget(req: http.IncomingMessage, url: URL): { name: string; path: string } {
    const match = /^\/svc\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (match) return { name: decodeURIComponent(match[1]), path: (match[2] ?? '/') + url.search };
    const header = req.headers['x-quad-service'];
    return { name: typeof header === 'string' ? header : defaultService, path: url.pathname + url.search };
  }

  async function handleTraffic(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const startedAt = performance.now();
    const pinned = pinTarget(url);
    const target = pinned ?? routeTarget(req, url);
    const service = getService(target.name, false);
    let version: string | null;
    if (pinned) {
      // only a version already up: a pinned request must not start (or restart) one behind the deployer's back
      version = pinned.version;
      if (service?.versions.get(version)?.process.state !== 'running') throw new HttpError(404, `${target.name}@${version} is not running`);
    } else {
      version = service?.pick(userOf(req)) ?? null;
      if (!service || !version) throw new HttpError(503, `no version of ${target.name} is deployed`);
    }
    const entry = service!.entry(version);
    const flags = await flagsOf(req);
    // one outcome per request, counted for its version and for each flag's side it was on
    const logs = [entry.log, ...flags.map((f) => service!.flagLog(f.name, f.on))];
    const conversionRate = entry.process.behaviour.conversionRate;
    const record = (isError: boolean) => {
      const at = Date.now();
      const ms = performance.now() - startedAt;
      // a failed visit cannot convert; the sandbox is not workflow code, so Math.random is fine
      const converted = !isError && Math.random() < conversionRate;
      for (const log of logs) log.record(at, ms, isError, converted);
    };
    const fault = flagFault(flags);
    if (fault.extraMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.extraMs));

    let port: number;
    try {
      port = await entry.process.ensureRunning();
    } catch (err) {
      record(true);
      throw new HttpError(503, (err as Error).message);
    }
    const headers = { ...req.headers, 'x-quad-service': service!.name };
    const upstream = http.request({ host: HOST, port, method: req.method, path: target.path, headers, agent }, (up) => {
      if (fault.failedBy !== null) {
        // the version did the work; the flag's code path then fails the request
        let answered = false;
        const fail = () => {
          if (answered) return;
          answered = true;
          record(true);
          const text = JSON.stringify({ error: 'internal error', version, flag: fault.failedBy });
          res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-sandbox-version': version });
          res.end(text);
        };
        up.resume();
        up.on('end', fail);
        up.on('error', fail);
        return;
      }
      const status = up.statusCode ?? 502;
      res.writeHead(status, { ...up.headers, 'x-sandbox-version': version });
      up.pipe(res);
      up.on('end', () => record(status >= 500));
      up.on('error', () => record(true));
    });
    upstream.on('error', (err) => {
      record(true);
      if (!res.headersSent) sendJson(res, 502, { error: `upstream ${version}: ${err.message}` });
      else res.destroy();
    });
    req.pipe(upstream);
  }

  function handler(adminHere: boolean, trafficHere: boolean) {
    return (req: http.IncomingMessage, res: http.ServerResponse) => {
      const url = new URL(req.url ?? '/', `http://${HOST}`);
      const isAdmin = url.pathname === '/admin' || url.pathname.startsWith('/admin/');
      const work =
        isAdmin && adminHere ? handleAdmin(req, res, url) : trafficHere ? handleTraffic(req, res, url) : Promise.reject(new HttpError(404, 'not found'));
      work.catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (!res.headersSent) sendJson(res, status, { error: (err as Error).message });
        else res.destroy();
      });
    };
  }

  const router = http.createServer(handler(!separateAdmin, true));
  router.keepAliveTimeout = 30_000;
  const admin = separateAdmin ? http.createServer(handler(true, false)) : null;

  const listen = (server: http.Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, HOST, () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(router, options.port ?? 0);
  const adminPort = admin ? await listen(admin, options.adminPort ?? 0) : port;
  routerUrl = `http://${HOST}:${port}`;

  for (const [name, version] of Object.entries(options.initial ?? {})) {
    await applySplit(name, parseSplit({ version, previousVersion: null, percent: 100 }));
  }

  const close = (server: http.Server) =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });

  return {
    url: routerUrl,
    adminUrl: `http://${HOST}:${adminPort}`,
    port,
    adminPort,
    service: (name) => services.get(name),
    async stop() {
      await Promise.all([close(router), ...(admin ? [close(admin)] : [])]);
      agent.destroy();
      await Promise.all([...services.values()].map((s) => s.stop()));
    },
  };
}
