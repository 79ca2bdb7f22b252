// What the AWS deployer tests stand up in moto: a load balancer with a stable and a canary target group,
// a listener and a rule; ECS services with one task definition revision per version; a Lambda function
// with published versions and an alias; IAM users with a narrow policy. The SDK clients the project
// depends on (ELBv2, ECS, Lambda) do it where they can; EC2 and IAM, for which the project has no
// client, are called in their query protocol directly (moto does not check signatures until its IAM
// is switched on, and these calls all come before).
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateClusterCommand, CreateServiceCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateAliasCommand, CreateFunctionCommand, LambdaClient, PublishVersionCommand, UpdateFunctionCodeCommand } from '@aws-sdk/client-lambda';

export const REGION = 'us-east-1';

/** One query-protocol call (EC2, IAM) to moto; returns the XML answer. */
export async function awsQuery(endpoint: string, service: 'ec2' | 'iam', params: Record<string, string>): Promise<string> {
  const version = service === 'ec2' ? '2016-11-15' : '2010-05-08';
  const res = await fetch(endpoint, {
    method: 'POST',
    body: new URLSearchParams({ Version: version, ...params }).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      // moto routes by the credential scope's service name
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${REGION}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
    },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${service} ${params.Action}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text;
}

const xmlAll = (xml: string, tag: string) => [...xml.matchAll(new RegExp(`<${tag}>([^<]+)</${tag}>`, 'g'))].map((m) => m[1]);

/** moto's default VPC and its subnets (one per availability zone). */
export async function defaultVpc(endpoint: string): Promise<{ vpcId: string; subnetIds: string[] }> {
  const xml = await awsQuery(endpoint, 'ec2', { Action: 'DescribeSubnets' });
  return { vpcId: xmlAll(xml, 'vpcId')[0], subnetIds: xmlAll(xml, 'subnetId') };
}

/** An EC2 instance, running; stopInstance makes ELBv2 report it `unused` (Target.InvalidState). */
export async function runInstance(endpoint: string, subnetId: string): Promise<string> {
  const xml = await awsQuery(endpoint, 'ec2', {
    Action: 'RunInstances',
    ImageId: 'ami-12c6146b',
    MinCount: '1',
    MaxCount: '1',
    InstanceType: 't3.micro',
    SubnetId: subnetId,
  });
  return xmlAll(xml, 'instanceId')[0];
}

export async function stopInstance(endpoint: string, instanceId: string): Promise<void> {
  await awsQuery(endpoint, 'ec2', { Action: 'StopInstances', 'InstanceId.1': instanceId });
}

export interface AlbWorld {
  loadBalancerArn: string;
  stableTargetGroupArn: string;
  canaryTargetGroupArn: string;
  /** HTTP :80, default action forwarding to the stable group only (as a team has it before its first release) */
  listenerArn: string;
  /** /api/* on the same listener, forwarding stable 100 / canary 0 */
  ruleArn: string;
  vpcId: string;
  subnetIds: string[];
}

let seq = 0;

/** A load balancer, its two target groups (IP targets, `targets` registered in each) and a listener and rule. */
export async function createAlbWorld(endpoint: string, opts: { name?: string; targetType?: 'ip' | 'instance'; targets?: number } = {}): Promise<AlbWorld> {
  const name = opts.name ?? `shop${++seq}`;
  const elb = new ElasticLoadBalancingV2Client({ region: REGION, endpoint });
  try {
    const { vpcId, subnetIds } = await defaultVpc(endpoint);
    const lb = await elb.send(new CreateLoadBalancerCommand({ Name: name, Subnets: subnetIds.slice(0, 2), Type: 'application' }));
    const loadBalancerArn = lb.LoadBalancers![0].LoadBalancerArn!;
    const group = async (side: string) =>
      (
        await elb.send(
          new CreateTargetGroupCommand({ Name: `${name}-${side}`, Protocol: 'HTTP', Port: 8080, VpcId: vpcId, TargetType: opts.targetType ?? 'ip' }),
        )
      ).TargetGroups![0].TargetGroupArn!;
    const stableTargetGroupArn = await group('stable');
    const canaryTargetGroupArn = await group('canary');
    const targets = opts.targets ?? 2;
    if ((opts.targetType ?? 'ip') === 'ip' && targets > 0) {
      for (const [i, arn] of [stableTargetGroupArn, canaryTargetGroupArn].entries()) {
        const Targets = Array.from({ length: targets }, (_, k) => ({ Id: `10.0.${i}.${10 + k}`, Port: 8080 }));
        await elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets }));
      }
    }
    const listener = await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancerArn,
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: stableTargetGroupArn }],
      }),
    );
    const listenerArn = listener.Listeners![0].ListenerArn!;
    const rule = await elb.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 10,
        Conditions: [{ Field: 'path-pattern', Values: ['/api/*'] }],
        Actions: [
          {
            Type: 'forward',
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: stableTargetGroupArn, Weight: 100 },
                { TargetGroupArn: canaryTargetGroupArn, Weight: 0 },
              ],
            },
          },
        ],
      }),
    );
    return { loadBalancerArn, stableTargetGroupArn, canaryTargetGroupArn, listenerArn, ruleArn: rule.Rules![0].RuleArn!, vpcId, subnetIds };
  } finally {
    elb.destroy();
  }
}

export interface EcsWorld {
  cluster: string;
  stableService: string;
  canaryService: string;
  family: string;
  /** task definition ARN per version */
  taskDefinitions: Record<string, string>;
}

/**
 * A cluster, one task definition revision per version (container `app`, image `<repo>:<version>`, also
 * tagged quad:version=<version>), a stable service running `stableVersion` and a canary service, each
 * attached to its target group.
 */
export async function createEcsWorld(
  endpoint: string,
  alb: Pick<AlbWorld, 'stableTargetGroupArn' | 'canaryTargetGroupArn'>,
  opts: { versions: string[]; stableVersion: string; stableDesired: number; canaryDesired: number; name?: string },
): Promise<EcsWorld> {
  const name = opts.name ?? `shop${++seq}`;
  const ecs = new ECSClient({ region: REGION, endpoint });
  try {
    await ecs.send(new CreateClusterCommand({ clusterName: name }));
    const family = `${name}-checkout`;
    const taskDefinitions: Record<string, string> = {};
    for (const version of opts.versions) {
      const td = await ecs.send(
        new RegisterTaskDefinitionCommand({
          family,
          containerDefinitions: [{ name: 'app', image: `registry.example.com/shop/checkout:${version}`, memory: 256, portMappings: [{ containerPort: 8080 }] }],
          tags: [{ key: 'quad:version', value: version }],
        }),
      );
      taskDefinitions[version] = td.taskDefinition!.taskDefinitionArn!;
    }
    const service = async (serviceName: string, tg: string, desiredCount: number, version: string) => {
      await ecs.send(
        new CreateServiceCommand({
          cluster: name,
          serviceName,
          taskDefinition: taskDefinitions[version],
          desiredCount,
          loadBalancers: [{ targetGroupArn: tg, containerName: 'app', containerPort: 8080 }],
        }),
      );
    };
    await service('checkout', alb.stableTargetGroupArn, opts.stableDesired, opts.stableVersion);
    await service('checkout-canary', alb.canaryTargetGroupArn, opts.canaryDesired, opts.stableVersion);
    return { cluster: name, stableService: 'checkout', canaryService: 'checkout-canary', family, taskDefinitions };
  } finally {
    ecs.destroy();
  }
}

export interface LambdaWorld {
  functionName: string;
  alias: string;
  /** published Lambda version number per release version (its description) */
  versions: Record<string, string>;
}

/** A function with one published version per release version (Description = the version) and an alias on the first. */
export async function createLambdaWorld(endpoint: string, opts: { versions: string[]; functionName?: string; alias?: string }): Promise<LambdaWorld> {
  const functionName = opts.functionName ?? `checkout${++seq}`;
  const alias = opts.alias ?? 'live';
  const roleXml = await awsQuery(endpoint, 'iam', {
    Action: 'CreateRole',
    RoleName: `${functionName}-role`,
    AssumeRolePolicyDocument: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
  });
  const role = xmlAll(roleXml, 'Arn')[0];
  const lambda = new LambdaClient({ region: REGION, endpoint });
  try {
    const code = (v: string) => new TextEncoder().encode(`exports.handler = async () => ${JSON.stringify(v)};`);
    await lambda.send(
      new CreateFunctionCommand({ FunctionName: functionName, Runtime: 'nodejs22.x', Role: role, Handler: 'index.handler', Code: { ZipFile: code('init') } }),
    );
    const versions: Record<string, string> = {};
    for (const v of opts.versions) {
      // Lambda publishes a new version only when the code or configuration changed
      await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: functionName, ZipFile: code(v) }));
      const published = await lambda.send(new PublishVersionCommand({ FunctionName: functionName, Description: v }));
      versions[v] = published.Version!;
    }
    await lambda.send(new CreateAliasCommand({ FunctionName: functionName, Name: alias, FunctionVersion: versions[opts.versions[0]] }));
    return { functionName, alias, versions };
  } finally {
    lambda.destroy();
  }
}

/** An IAM user allowed only `actions` (on every resource), with an access key; for tests with moto's IAM switched on. */
export async function createIamUser(endpoint: string, name: string, actions: string[]): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  await awsQuery(endpoint, 'iam', { Action: 'CreateUser', UserName: name });
  await awsQuery(endpoint, 'iam', {
    Action: 'PutUserPolicy',
    UserName: name,
    PolicyName: `${name}-policy`,
    PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] }),
  });
  const xml = await awsQuery(endpoint, 'iam', { Action: 'CreateAccessKey', UserName: name });
  return { accessKeyId: xmlAll(xml, 'AccessKeyId')[0], secretAccessKey: xmlAll(xml, 'SecretAccessKey')[0] };
}

/** Switches moto's IAM checks on (every request must be signed by a known key and allowed) or off again. */
export async function motoIam(endpoint: string, on: boolean): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: on ? '0' : 'inf' });
  if (!res.ok) throw new Error(`moto reset-auth answered ${res.status}`);
}
