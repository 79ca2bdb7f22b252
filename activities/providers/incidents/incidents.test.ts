import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonlIncidentSink } from './jsonl-file';
import { WebhookIncidentSink } from './webhook';
import type { IncidentInput } from '../types';

const incident: IncidentInput = { releaseId: 'release:checkout', service: 'checkout', version: 'v1.2.4-bad', title: 'checkout v1.2.4-bad rolled back', evidence: 'error rate 8 %', rootCauseHint: 'look at the error logs', at: 1795700000000 };

test('file sink records the incident with its evidence and hint', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'quad-')), 'incidents.jsonl');
  const id = await new JsonlIncidentSink(path).open(incident);
  expect(id).toBe('INC-checkout-1795700000000');
  expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ id, evidence: 'error rate 8 %', rootCauseHint: 'look at the error logs' });
});

test('webhook sink POSTs JSON with an idempotency key and returns the tool’s URL', async () => {
  const seen: { headers: Record<string, unknown>; body: unknown }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: JSON.parse(body) });
      res.writeHead(seen.length === 1 ? 201 : 500, { 'content-type': 'application/json' }).end(JSON.stringify({ url: 'https://incidents.example/INC-7' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  try {
    const sink = new WebhookIncidentSink(url);
    expect(await sink.open(incident)).toBe('https://incidents.example/INC-7');
    expect(seen[0].headers['idempotency-key']).toBe('release:checkout:1795700000000');
    expect(seen[0].body).toMatchObject({ title: incident.title, evidence: incident.evidence });
    await expect(sink.open(incident)).rejects.toThrow('incident webhook answered 500');
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
