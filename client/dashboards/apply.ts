// `quad dashboards apply`: writes each CloudWatch service's dashboard with PutDashboard (idempotent: the
// same name is replaced), or prints the bodies with --dry-run. Credentials come from the SDK's default
// chain, as the worker's do; nothing here reads, prints or returns them.
import { CloudWatchClient, PutDashboardCommand } from '@aws-sdk/client-cloudwatch';
import type { QuadConfig } from '../../config/schema';
import { InputError } from '../../config/errors';
import { serviceConfig } from '../../config/resolve';
import { planDashboards, type Dashboard, type DashboardOptions } from './body';

interface Out {
  write(s: string): unknown;
}

export interface ApplyOptions extends DashboardOptions {
  service?: string;
  dryRun?: boolean;
  stdout: Out;
  stderr: Out;
  env?: NodeJS.ProcessEnv;
  /** a ready client per dashboard (tests); default one per region and endpoint */
  clientFor?: (d: Dashboard, endpoint: string | undefined) => CloudWatchClient;
}

const EXIT = { ok: 0, failed: 1, refused: 2 } as const;

/** AWS secrets the SDK may have read from the environment never reach the terminal. */
function redact(text: string, secrets: Array<string | undefined>): string {
  return secrets.reduce<string>((out, s) => (s && s.length >= 4 ? out.split(s).join('[redacted]') : out), text);
}

/** Exit 0 when every dashboard was written (or printed), 1 when PutDashboard failed, 2 for a service that has none. */
export async function applyDashboards(cfg: QuadConfig, o: ApplyOptions): Promise<number> {
  const env = o.env ?? process.env;
  if (o.service) serviceConfig(cfg, o.service); // an unknown service is bad input, not a skip
  const plans = planDashboards(cfg, { ...o, defaultRegion: o.defaultRegion ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION }, o.service);
  for (const p of plans) if (p.kind === 'skipped') o.stderr.write(`skipped ${p.service}: ${p.reason}\n`);
  const dashboards = plans.flatMap((p) => (p.kind === 'dashboard' ? [p.dashboard] : []));
  if (o.service && dashboards.length === 0) throw new InputError(`${o.service} has no CloudWatch dashboard (see above)`);
  if (o.dryRun) {
    o.stdout.write(
      JSON.stringify(
        dashboards.map((d) => ({ DashboardName: d.name, region: d.region, DashboardBody: d.body })),
        null,
        2,
      ) + '\n',
    );
    return EXIT.ok;
  }
  const clients = new Map<string, CloudWatchClient>();
  const clientFor =
    o.clientFor ??
    ((d: Dashboard, endpoint: string | undefined) => {
      const key = `${d.region} ${endpoint ?? ''}`;
      let c = clients.get(key);
      if (!c) clients.set(key, (c = new CloudWatchClient({ region: d.region, endpoint, maxAttempts: 3 })));
      return c;
    });
  let exit: number = EXIT.ok;
  try {
    for (const d of dashboards) {
      const m = cfg.services[d.service].metrics;
      const endpoint = m.type === 'cloudwatch' ? m.endpoint : undefined;
      try {
        const res = await clientFor(d, endpoint).send(new PutDashboardCommand({ DashboardName: d.name, DashboardBody: JSON.stringify(d.body) }));
        const notes = (res.DashboardValidationMessages ?? []).map((v) => `${v.DataPath ?? ''} ${v.Message ?? ''}`.trim());
        const widgets = d.body.widgets.length;
        o.stdout.write(`applied ${d.name} in ${d.region}: ${widgets} widgets${notes.length ? `; CloudWatch says: ${notes.join('; ')}` : ''}\n`);
      } catch (err) {
        const e = err as Error;
        const said = redact(`${e?.name ?? 'Error'}: ${e?.message ?? String(err)}`, [env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN]);
        o.stderr.write(`quad: PutDashboard ${d.name} in ${d.region} failed: ${said}\n`);
        exit = EXIT.failed;
      }
    }
  } finally {
    for (const c of clients.values()) c.destroy();
  }
  return exit;
}
