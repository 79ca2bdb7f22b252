// A fault proxy for the degraded-dependency tests: a plain TCP proxy (node:net) on 127.0.0.1, port 0,
// in front of a real counterpart (an HTTP API, an SMTP server, the Temporal frontend's gRPC), whose
// behaviour a test switches at run time:
//   pass     bytes flow both ways untouched
//   delay    every chunk from the client (and, unless `connect: false`, a new connection's link to the
//            upstream) waits `ms` first, so each request's answer (and an SMTP greeting) comes `ms` later
//   drop     connections are accepted and never answered: the client's bytes are swallowed, the
//            upstream's too; leaving drop cuts the connections it held (their streams lost bytes)
//   reset    every open connection is destroyed with a TCP RST, and new ones are reset on accept
//   http500  for HTTP upstreams: each request is answered 500 with a JSON body, then the connection closes
// Counters: connections accepted and chunks from clients by mode, and HTTP requests by mode (request
// lines seen in the client's bytes; only meaningful for HTTP/1.1 upstreams).
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';

export type FaultMode =
  | { kind: 'pass' }
  /** `connect: false`: a new connection reaches the upstream at once (an SMTP greeting on time), only the client's chunks wait */
  | { kind: 'delay'; ms: number; connect?: boolean }
  | { kind: 'drop' }
  | { kind: 'reset' }
  | { kind: 'http500'; body?: string };
export type FaultKind = FaultMode['kind'];

export const pass: FaultMode = { kind: 'pass' };

export interface FaultCounters {
  connections: Record<FaultKind, number>;
  requests: Record<FaultKind, number>;
  chunks: Record<FaultKind, number>;
  /** connections open now */
  open: number;
}

export interface FaultProxy {
  /** host:port, for gRPC / SMTP clients */
  address: string;
  host: string;
  port: number;
  /** http://host:port, for HTTP clients */
  url: string;
  mode(): FaultMode;
  set(mode: FaultMode): void;
  /** a copy of the counters so far */
  counters(): FaultCounters;
  /** counts since `before` (e.g. counters() taken when a fault began) */
  since(before: FaultCounters): FaultCounters;
  close(): Promise<void>;
}

const KINDS: FaultKind[] = ['pass', 'delay', 'drop', 'reset', 'http500'];
const zero = (): Record<FaultKind, number> => Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
const REQUEST_LINE = /(?:^|\r\n)(?:GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS) \S+ HTTP\/1\.[01]\r\n/g;

interface Link {
  client: Socket;
  upstream: Socket | null;
  /** accepted (or switched) into drop: held, answered never */
  held: boolean;
  /** keeps delayed chunks in order */
  chain: Promise<void>;
}

export async function startFaultProxy(upstream: { host?: string; port: number } | string): Promise<FaultProxy> {
  const target = typeof upstream === 'string' ? parseTarget(upstream) : { host: upstream.host ?? '127.0.0.1', port: upstream.port };
  let mode: FaultMode = pass;
  const counters: FaultCounters = { connections: zero(), requests: zero(), chunks: zero(), open: 0 };
  const links = new Set<Link>();

  const kill = (link: Link, rst: boolean) => {
    if (rst && !link.client.destroyed) link.client.resetAndDestroy();
    else link.client.destroy();
    link.upstream?.destroy();
  };

  const openUpstream = (link: Link) => {
    const up = connect(target.port, target.host);
    link.upstream = up;
    up.setNoDelay(true);
    up.on('data', (chunk: Buffer) => {
      if (mode.kind === 'drop' || link.held) return void (link.held = true); // the answer never comes
      link.client.write(chunk);
    });
    up.on('error', () => kill(link, true));
    up.on('close', () => link.client.end());
  };

  const server: Server = createServer((client) => {
    const link: Link = { client, upstream: null, held: false, chain: Promise.resolve() };
    const at = mode;
    counters.connections[at.kind]++;
    client.setNoDelay(true);
    client.on('error', () => undefined);
    if (at.kind === 'reset') return void client.resetAndDestroy();
    links.add(link);
    counters.open++;
    client.on('close', () => {
      links.delete(link);
      counters.open--;
      link.upstream?.destroy();
    });
    if (at.kind === 'drop') link.held = true;
    else if (at.kind === 'delay' && at.connect !== false) link.chain = sleep(at.ms).then(() => void (!client.destroyed && openUpstream(link)));
    else if (at.kind === 'pass' || at.kind === 'delay') openUpstream(link);
    // http500: no upstream, each request gets its 500
    client.on('data', (chunk: Buffer) => {
      const now = mode;
      counters.chunks[now.kind]++;
      counters.requests[now.kind] += (chunk.toString('latin1').match(REQUEST_LINE) ?? []).length;
      if (now.kind === 'reset') return kill(link, true);
      if (now.kind === 'drop' || link.held) return void (link.held = true);
      if (now.kind === 'http500') {
        const body = now.body ?? JSON.stringify({ error: 'fault proxy: injected 500' });
        client.end(
          `HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
        link.upstream?.destroy();
        return;
      }
      const ms = now.kind === 'delay' ? now.ms : 0;
      link.chain = link.chain.then(async () => {
        if (ms > 0) await sleep(ms);
        if (client.destroyed) return;
        if (!link.upstream) openUpstream(link); // accepted in http500, now passing
        link.upstream!.write(chunk);
      });
    });
    client.on('end', () => void link.chain.then(() => link.upstream?.end()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const copy = (): FaultCounters => ({
    connections: { ...counters.connections },
    requests: { ...counters.requests },
    chunks: { ...counters.chunks },
    open: counters.open,
  });
  const minus = (a: Record<FaultKind, number>, b: Record<FaultKind, number>) =>
    Object.fromEntries(KINDS.map((k) => [k, a[k] - b[k]])) as Record<FaultKind, number>;
  return {
    address: `127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    url: `http://127.0.0.1:${port}`,
    mode: () => mode,
    set(next: FaultMode) {
      const was = mode;
      mode = next;
      for (const link of [...links]) {
        if (next.kind === 'reset') kill(link, true);
        // leaving drop: what it held lost bytes both ways, so those connections are cut (the client reconnects)
        else if (was.kind === 'drop' && next.kind !== 'drop' && link.held) kill(link, false);
      }
    },
    counters: copy,
    since(before) {
      const now = copy();
      return {
        connections: minus(now.connections, before.connections),
        requests: minus(now.requests, before.requests),
        chunks: minus(now.chunks, before.chunks),
        open: now.open,
      };
    },
    async close() {
      for (const link of [...links]) kill(link, false);
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function parseTarget(s: string): { host: string; port: number } {
  const u = new URL(s.includes('://') ? s : `tcp://${s}`);
  return { host: u.hostname, port: Number(u.port) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Non-zero counts only, for printing: "connections pass 3, reset 5 · requests pass 12". */
export function describeCounters(c: FaultCounters): string {
  const part = (name: string, r: Record<FaultKind, number>) => {
    const xs = KINDS.filter((k) => r[k] > 0).map((k) => `${k} ${r[k]}`);
    return xs.length ? `${name} ${xs.join(', ')}` : null;
  };
  return [part('connections', c.connections), part('requests', c.requests), part('chunks', c.chunks)].filter(Boolean).join(' · ') || 'nothing seen';
}
