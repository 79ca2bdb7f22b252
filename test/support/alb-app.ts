// A team's app behind an Application Load Balancer in moto, as the alb deployer expects it: a stable and
// a canary target group on one listener, ECS services behind them (stable on `stable`, canary at 0) with a
// task definition revision per version. moto's targets serve nothing, so the sandbox plays them: the
// listener's weights and the services' task definitions, read back from moto, are applied to the
// sandbox's router (mirrorToSandbox). Used by the e2e test and bench:release.
import { DescribeListenersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { REGION, createAlbWorld, createEcsWorld, type AlbWorld, type EcsWorld } from './aws-fixtures';
import { mirrorToSandbox, splitOf, type Mirror } from './e2e-deploy';

export interface AlbAppWorld {
  /** [stable, canary] target group weights */
  weights: number[];
  stable: { version: string; desired: number };
  canary: { version: string; desired: number };
}

export interface AlbApp {
  alb: AlbWorld;
  ecs: EcsWorld;
  /** the `deployer:` block of a service releasing into this app, through `endpoint` (moto, or a proxy in front of it) */
  deployer(endpoint: string): Record<string, unknown>;
  /** the listener's weights and both services, read back from moto */
  world(): Promise<AlbAppWorld>;
  mirror: Mirror;
  stop(): Promise<void>;
}

export async function createAlbApp(motoEndpoint: string, opts: { versions: string[]; stable: string; sandboxUrl: string }): Promise<AlbApp> {
  const alb = await createAlbWorld(motoEndpoint);
  const e = await createEcsWorld(motoEndpoint, alb, { versions: opts.versions, stableVersion: opts.stable, stableDesired: 2, canaryDesired: 0 });
  const elb = new ElasticLoadBalancingV2Client({ region: REGION, endpoint: motoEndpoint });
  const ecs = new ECSClient({ region: REGION, endpoint: motoEndpoint });
  const versionOf = (taskDefinitionArn: string | undefined) => Object.entries(e.taskDefinitions).find(([, arn]) => arn === taskDefinitionArn)?.[0] ?? '?';

  const world = async (): Promise<AlbAppWorld> => {
    const listener = (await elb.send(new DescribeListenersCommand({ ListenerArns: [alb.listenerArn] }))).Listeners![0];
    const fwd = listener.DefaultActions!.find((a) => a.Type === 'forward')!;
    const tuples = fwd.ForwardConfig?.TargetGroups ?? [{ TargetGroupArn: fwd.TargetGroupArn, Weight: 1 }];
    const weight = (arn: string) => tuples.find((t) => t.TargetGroupArn === arn)?.Weight ?? 0;
    const services = (await ecs.send(new DescribeServicesCommand({ cluster: e.cluster, services: [e.stableService, e.canaryService] }))).services!;
    const side = (n: string) => {
      const s = services.find((x) => x.serviceName === n)!;
      return { version: versionOf(s.taskDefinition), desired: s.desiredCount ?? 0 };
    };
    return { weights: [weight(alb.stableTargetGroupArn), weight(alb.canaryTargetGroupArn)], stable: side(e.stableService), canary: side(e.canaryService) };
  };
  const mirror = mirrorToSandbox(opts.sandboxUrl, 'checkout', async () => {
    const w = await world();
    return splitOf(w.stable.version, w.canary.version, w.weights[1] > 0 ? (100 * w.weights[1]) / (w.weights[0] + w.weights[1]) : 0);
  });

  return {
    alb,
    ecs: e,
    deployer: (endpoint) => ({
      type: 'alb',
      endpoint,
      listener_arn: alb.listenerArn,
      stable_target_group_arn: alb.stableTargetGroupArn,
      canary_target_group_arn: alb.canaryTargetGroupArn,
      ecs: { cluster: e.cluster, stable_service: e.stableService, canary_service: e.canaryService, task_definition_family: e.family },
      ready_timeout_seconds: 30,
    }),
    world,
    mirror,
    async stop() {
      await mirror.stop();
      elb.destroy();
      ecs.destroy();
    },
  };
}
