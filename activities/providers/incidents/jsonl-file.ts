// Incidents appended to a JSON-lines file (the local default); the id is the release and time.
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { IncidentInput, IncidentSink } from '../types';

export class JsonlIncidentSink implements IncidentSink {
  readonly name = 'file';
  constructor(private readonly path: string) {}

  async open(incident: IncidentInput): Promise<string> {
    const id = `INC-${incident.service}-${incident.at}`;
    await mkdir(dirname(this.path), { recursive: true });
    await appendFile(this.path, JSON.stringify({ id, ...incident }) + '\n');
    return id;
  }
}
