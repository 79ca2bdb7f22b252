// Bad input gets a clear error and starts nothing: versions, services, YAML, every kind of schema mistake.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, loadConfig } from './load';
import { resolveRelease, resolveFlagRamp, validateVersion } from './resolve';
import { parseCriteria } from './criteria';
import { ConfigError, InputError } from './errors';
import { ownEntry } from './lookup';

const ROOT = join(__dirname, '..');
const repo = () => loadConfig(join(ROOT, '.quad', 'production-agent.yml'));
const problems = (yaml: string): string[] => {
  try {
    parseConfig(yaml, 'test.yml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('versions', () => {
  test.each(['v1.2.3', '1.2.3', 'v1.2.4-rc.1', 'v1.2.4-bad', 'v2.0.0+build.7'])('%s is accepted', (v) => expect(validateVersion(v)).toBe(v));
  test.each([
    ['v1.2.3; rm -rf /', /is not a version/],
    ['', /a version is required/],
    ['   ', /a version is required/],
    ['v' + '1'.repeat(299), /300 characters long; at most 128/],
    ['$(reboot)', /is not a version/],
    ['v1.2', /is not a version/],
    ['--help', /is not a version/],
  ])('%j is refused', (v, msg) => expect(() => validateVersion(v)).toThrow(msg));
  test('a non-string is refused', () => expect(() => validateVersion(42)).toThrow(InputError));
});

describe('resolving a release', () => {
  test('the seed plan resolves with typed criteria', () => {
    const { plan, request } = resolveRelease(repo(), { service: 'checkout', version: 'v1.2.3', requestedBy: 'ana', source: 'slack' });
    expect(request).toEqual({ service: 'checkout', version: 'v1.2.3', strategy: 'canary', requestedBy: 'ana', source: 'slack' });
    expect(plan.stages.map((s) => [s.name, s.action, s.durationMs, s.approval])).toEqual([
      ['canary 5 %', { kind: 'traffic', percent: 5 }, 15 * 60_000, false],
      ['canary 25 %', { kind: 'traffic', percent: 25 }, 30 * 60_000, false],
      ['full rollout 100 %', { kind: 'traffic', percent: 100 }, 0, true],
    ]);
    expect(plan.stages[0].criteria).toMatchObject({ errorRateMaxPct: 1, latencyP95MaxMs: 500, minRequests: 200 });
    expect(JSON.stringify(plan)).not.toMatch(/\$\{|token|secret/i);
  });
  test("a service without a rollout_plan gets the strategy's default stages", () => {
    const cfg = parseConfig('feature_flags: { canary_duration_minutes: 10 }\nservices: { search: {} }');
    const stages = (strategy: 'canary' | 'blue-green' | 'ab') =>
      resolveRelease(cfg, { service: 'search', version: 'v2.0.0', strategy, requestedBy: 'ana', source: 'cli' }).plan.stages.map(
        (s) => `${s.name}/${s.durationMs / 60_000}`,
      );
    expect(stages('canary')).toEqual(['canary 5 %/10', 'canary 25 %/10', 'canary 50 %/10', 'full rollout 100 %/0']);
    // the switch is one call; the bake after it is blue-green's watch
    expect(stages('blue-green')).toEqual(['switch to green/0']);
    expect(stages('ab')).toEqual(['A/B 50 %/10', 'keep B at 100 %/0']);
  });
  test('unknown service: names the configured ones', () =>
    expect(() => resolveRelease(repo(), { service: 'payments', version: 'v1.2.3', requestedBy: 'ana', source: 'cli' })).toThrow(
      'unknown service "payments"; configured: checkout',
    ));
  test('a hostile requester name is refused', () =>
    expect(() => resolveRelease(repo(), { service: 'checkout', version: 'v1.2.3', requestedBy: 'ana; rm -rf /', source: 'cli' })).toThrow(
      /is not a user name or ID/,
    ));
  test("the seed's dark_mode plan parses exactly as written", () => {
    const { plan } = resolveFlagRamp(repo(), { flag: 'dark_mode', requestedBy: 'ana', source: 'cli' });
    expect(plan.stages.map((s) => [s.action, s.durationMs, s.approval, s.requirePreviousPass])).toEqual([
      [{ kind: 'flag', flag: 'dark_mode', percent: 10 }, 15 * 60_000, false, false],
      [{ kind: 'flag', flag: 'dark_mode', percent: 50 }, 30 * 60_000, false, true],
      [{ kind: 'flag', flag: 'dark_mode', percent: 100 }, 0, true, false],
    ]);
    expect(plan.stages[0].criteria).toEqual({ errorRateMaxPct: 0.5, latencyP95MaxMs: 200, cpuMaxPct: 90, minRequests: 200 });
  });
  test('a ramp judged by variant compares users with the flag on against those with it off, ratios included', () => {
    const cfg = repo();
    const { plan } = resolveFlagRamp(
      { ...cfg, feature_flag: { ...cfg.feature_flag!, watch: 'variants' } },
      { flag: 'dark_mode', requestedBy: 'ana', source: 'cli' },
    );
    expect(plan.flagWatch).toBe('variants');
    // CPU and memory belong to the process both sides share: not a flag's doing
    expect(plan.stages[0].criteria).toEqual({ errorRateMaxPct: 0.5, latencyP95MaxMs: 200, errorRateMaxRatio: 2, latencyP95MaxRatio: 1.25, minRequests: 200 });
    expect(resolveFlagRamp(cfg, { flag: 'dark_mode', requestedBy: 'ana', source: 'cli' }).plan.flagWatch).toBeUndefined();
    expect(problems('feature_flag: { name: x, watch: users, rollout_plan: [{ users_percent: 10 }] }\nservices: { a: {} }\n')).toEqual([
      'feature_flag.watch: expected one of "service", "variants", found string "users"',
    ]);
  });
  test('an unknown flag is refused', () =>
    expect(() => resolveFlagRamp(repo(), { flag: 'light_mode', requestedBy: 'ana', source: 'cli' })).toThrow(
      'no rollout plan for flag "light_mode"; configured: dark_mode',
    ));
});

describe('config errors name the file, the path, what was expected and what was found — all at once', () => {
  test('invalid YAML gives its line', () => {
    expect(problems('services:\n  checkout: [unclosed\n')).toEqual([expect.stringMatching(/^invalid YAML at line \d+, column \d+/)]);
  });
  test('every kind of schema violation, in one error', () => {
    const p = problems(`
enabled: "yes"
feature_flags: { provider: optimizely }
deployments: { error_rate_threshold: -1, surprise: true }
providers:
  unleash: { url: http://127.0.0.1:4242, token: "sk-live-inline-secret" }
services:
  checkout:
    poll_interval_seconds: 0
    rollout_plan:
      - { traffic_percent: 5, duration_minutes: 15 }
      - { traffic_percent: 25, duration_minutes: "thirty" }
      - { duration_minutes: 5 }
      - { traffic_percent: 150 }
      - { traffic_percent: 100, criteria: ["error_rate > 1%", "happiness < 3"] }
  Bad_Name: {}
`);
    expect(p).toEqual(
      expect.arrayContaining([
        'enabled: expected boolean, found string "yes"',
        'feature_flags.provider: expected one of "file", "unleash", "launchdarkly", found string "optimizely"',
        expect.stringMatching(/^deployments\.error_rate_threshold: expected number to be >=0, found number -1$/),
        'deployments: unknown key "surprise"',
        'providers.unleash.token: a secret must be written as ${ENV_VAR}, never inline, found string "sk-live-inline-secret"',
        expect.stringMatching(/^services\.checkout\.poll_interval_seconds: expected number to be >0, found number 0$/),
        'services.checkout.rollout_plan[1].duration_minutes: expected number, found string "thirty"',
        expect.stringMatching(/^services\.checkout\.rollout_plan\[2\]: a stage needs traffic_percent/),
        expect.stringMatching(/^services\.checkout\.rollout_plan\[3\]\.traffic_percent: expected number to be <=100, found number 150$/),
        expect.stringMatching(/^services\.Bad_Name: a service name of lowercase letters/),
      ]),
    );
    expect(p.length).toBeGreaterThanOrEqual(10);
  });
  test('criteria errors name the criterion', () => {
    const p = problems('services:\n  checkout:\n    rollout_plan:\n      - { traffic_percent: 100, criteria: ["error_rate > 1%", "happiness < 3"] }\n');
    expect(p).toEqual([
      'services.checkout.rollout_plan[0].criteria[0]: "error_rate > 1%" should read like "error_rate < 0.5%"',
      expect.stringMatching(/^services\.checkout\.rollout_plan\[0\]\.criteria\[1\]: unknown metric "happiness"/),
    ]);
  });
  test('the message names the file', () => {
    expect(() => parseConfig('services: 3', '.quad/production-agent.yml')).toThrow(
      /^\.quad\/production-agent\.yml: 1 problem\n {2}- services: expected record, found number 3/,
    );
  });
  test('a missing file is a clear error', () =>
    expect(() => loadConfig('/nonexistent/quad.yml')).toThrow(/^\/nonexistent\/quad\.yml: 1 problem\n {2}- cannot read the file/));
  test('the repo configs are valid', () => {
    expect(() => repo()).not.toThrow();
    expect(() => loadConfig(join(ROOT, '.quad', 'demo.yml'))).not.toThrow();
    expect(readFileSync(join(ROOT, '.quad', 'production-agent.yml'), 'utf8')).not.toMatch(/xox[bp]-|AKIA[0-9A-Z]{12}/);
  });
});

test('criteria strings → typed limits', () => {
  expect(
    parseCriteria([
      'error_rate < 0.5%',
      'latency_p95 < 200ms',
      'cpu < 80%',
      'error_rate_vs_baseline < 2x',
      'latency_p95_vs_baseline < 1.25×',
      'memory_vs_baseline < 1.5x',
      'requests >= 300',
    ]),
  ).toEqual({
    errorRateMaxPct: 0.5,
    latencyP95MaxMs: 200,
    cpuMaxPct: 80,
    errorRateMaxRatio: 2,
    latencyP95MaxRatio: 1.25,
    memoryMaxRatio: 1.5,
    minRequests: 300,
  });
});

describe('names a person types never find what every object inherits', () => {
  const INHERITED = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
  test('ownEntry finds own entries only', () => {
    const map: Record<string, number> = { checkout: 1 };
    expect(ownEntry(map, 'checkout')).toBe(1);
    for (const name of INHERITED) expect(ownEntry(map, name)).toBeUndefined();
  });
  test.each(INHERITED)('service %j is an unknown service, not a crash', (name) => {
    expect(() => resolveRelease(repo(), { service: name, version: 'v1.2.9', requestedBy: 'ana', source: 'cli' })).toThrow(
      new InputError(`unknown service ${JSON.stringify(name)}; configured: checkout`),
    );
  });
  test.each(INHERITED)('flag %j is an unknown flag', (name) => {
    expect(() => resolveFlagRamp(repo(), { flag: name, requestedBy: 'ana', source: 'cli' })).toThrow(
      new InputError(`no rollout plan for flag ${JSON.stringify(name)}; configured: dark_mode`),
    );
  });
  test('a YAML key __proto__ is refused with its path wherever it is, and changes no prototype', () => {
    const p = problems(`
services:
  __proto__: { strategy: blue-green, approvers: [mallory] }
  checkout: {}
flags:
  __proto__: { rollout_plan: [{ users_percent: 10 }] }
deployments: { __proto__: { error_rate_threshold: 99 } }
`);
    expect(p).toEqual([
      'services.__proto__: "__proto__" cannot be a name here (JavaScript objects reserve it); pick another',
      'flags.__proto__: "__proto__" cannot be a name here (JavaScript objects reserve it); pick another',
      'deployments.__proto__: "__proto__" cannot be a name here (JavaScript objects reserve it); pick another',
    ]);
    expect(({} as Record<string, unknown>).approvers).toBeUndefined();
    expect(({} as Record<string, unknown>).strategy).toBeUndefined();
  });
  test('inherited names cannot name a service or a flag', () => {
    const inherited = 'a name every JavaScript object already has (constructor, toString, ...); pick another';
    expect(
      problems(`
services: { constructor: {}, checkout: {} }
feature_flag: { name: toString, rollout_plan: [{ users_percent: 10 }] }
flags: { valueOf: { rollout_plan: [{ users_percent: 10 }] }, "dark mode": { rollout_plan: [{ users_percent: 10 }] } }
`).sort(),
    ).toEqual([
      `feature_flag.name: ${inherited}, found string "toString"`,
      'flags.dark mode: a flag name of letters, digits, _ . -, found string "dark mode"',
      `flags.valueOf: ${inherited}, found string "valueOf"`,
      `services.constructor: ${inherited}, found string "constructor"`,
    ]);
  });
});

describe('feature_flags.default_rollout_strategy: the stages of a flag plan that lists none', () => {
  /** [action, minutes, team approval, previous must pass] of each stage of the new_nav ramp */
  const ramp = (yaml: string, featureFlags = '') =>
    resolveFlagRamp(parseConfig(`feature_flags: { canary_duration_minutes: 10${featureFlags} }\nservices: { checkout: {} }\n${yaml}`), {
      flag: 'new_nav',
      requestedBy: 'ana',
      source: 'cli',
    }).plan.stages.map((s) => [s.action, s.durationMs / 60_000, s.approval, s.requirePreviousPass]);
  const flagAt = (percent: number) => ({ kind: 'flag', flag: 'new_nav', percent });
  test('gradual (the default): 10 %, then 50 % if that passed, then 100 % after a team approval', () => {
    const gradual = [
      [flagAt(10), 10, false, false],
      [flagAt(50), 10, false, true],
      [flagAt(100), 0, true, false],
    ];
    expect(ramp('flags: { new_nav: {} }')).toEqual(gradual);
    expect(ramp('flags: { new_nav: {} }', ', default_rollout_strategy: gradual')).toEqual(gradual);
    expect(repo().feature_flags.default_rollout_strategy).toBe('gradual');
  });
  test('immediate: 100 % at once, watched for canary_duration_minutes', () => {
    expect(ramp('flags: { new_nav: {} }', ', default_rollout_strategy: immediate')).toEqual([[flagAt(100), 10, false, false]]);
    expect(ramp('feature_flag: { name: new_nav }', ', default_rollout_strategy: immediate')).toEqual([[flagAt(100), 10, false, false]]);
  });
  test("a plan's own strategy wins over the default; a rollout_plan is followed as written", () => {
    expect(ramp('flags: { new_nav: { strategy: immediate } }')).toEqual([[flagAt(100), 10, false, false]]);
    expect(ramp('feature_flag: { name: new_nav, strategy: gradual }', ', default_rollout_strategy: immediate')).toHaveLength(3);
    expect(ramp('flags: { new_nav: { rollout_plan: [{ users_percent: 30, duration_minutes: 2 }] } }')).toEqual([[flagAt(30), 2, false, false]]);
    // the seed's plan is written out, so the default strategy does not touch it
    expect(resolveFlagRamp(repo(), { flag: 'dark_mode', requestedBy: 'ana', source: 'cli' }).plan.stages.map((s) => s.durationMs / 60_000)).toEqual([
      15, 30, 0,
    ]);
  });
  test('an unknown strategy is refused with the ones that exist; a strategy beside a rollout_plan too', () => {
    expect(
      problems(
        'feature_flags: { default_rollout_strategy: big-bang }\nservices: { checkout: {} }\nflags: { a: { strategy: immediate, rollout_plan: [{ users_percent: 10 }] } }\n',
      ),
    ).toEqual([
      'feature_flags.default_rollout_strategy: expected one of "gradual", "immediate", found string "big-bang"',
      'flags.a.strategy: strategy picks the stages of a plan without rollout_plan; keep one of the two, found string "immediate"',
    ]);
  });
});

describe('providers.incidents: each type has the settings it uses, and only those', () => {
  const incidents = (block: string) => `services: { checkout: {} }\nproviders: { incidents: ${block} }\n`;
  test('type webhook without url is refused, naming the path and what to set', () => {
    expect(problems(incidents('{ type: webhook }'))).toEqual([
      'providers.incidents.url: type webhook needs url, the address each incident is POSTed to (or use type: file with path), found nothing',
    ]);
  });
  test("a url that is not one, and the other type's setting, are refused", () => {
    expect(problems(incidents('{ type: webhook, url: "incidents please", path: x.jsonl }'))).toEqual([
      'providers.incidents.url: an http(s) URL, e.g. https://hooks.example.com/incidents, found string "incidents please"',
      'providers.incidents.path: path is for type: file; a webhook writes no file, found string "x.jsonl"',
    ]);
    expect(problems(incidents('{ type: webhook, url: "ftp://hooks.example.com/incidents" }'))).toEqual([
      'providers.incidents.url: an http(s) URL, e.g. https://hooks.example.com/incidents, found string "ftp://hooks.example.com/incidents"',
    ]);
    expect(problems(incidents('{ type: file, url: "https://hooks.example.com/incidents" }'))).toEqual([
      'providers.incidents.url: url is for type: webhook; type file writes to path, found string "https://hooks.example.com/incidents"',
    ]);
  });
  test('a webhook with its url, and a file with or without its path, are accepted', () => {
    expect(parseConfig(incidents('{ type: webhook, url: "https://hooks.example.com/incidents" }')).providers.incidents).toEqual({
      type: 'webhook',
      url: 'https://hooks.example.com/incidents',
    });
    expect(parseConfig(incidents('{ type: file, path: .data/inc.jsonl }')).providers.incidents).toEqual({ type: 'file', path: '.data/inc.jsonl' });
    expect(parseConfig(incidents('{ type: file }')).providers.incidents).toEqual({ type: 'file' });
  });
});

describe('gates that ask GitHub', () => {
  const withGate = (gate: string, providers = '') => `${providers}services:\n  shop:\n    deployer: { type: sandbox }\n    gates:\n      - ${gate}\n`;
  test('need providers.github, a repository as owner/name, and a job for migrations_tested; a kind that cannot ask is refused', () => {
    expect(problems(withGate('{ name: tests, kind: tests_passed, args: { source: github } }'))).toEqual([
      'services.shop.gates[0]: asks GitHub, but providers.github is not configured (token: ${GITHUB_TOKEN})',
      'services.shop.gates[0].args.repo: the repository as owner/name, e.g. shop/checkout',
    ]);
    const gh = 'providers:\n  github: { token: "${GITHUB_TOKEN}" }\n';
    expect(problems(withGate('{ name: m, kind: migrations_tested, args: { source: github, repo: shop/checkout } }', gh))).toEqual([
      'services.shop.gates[0].args.job: the CI job that tests the migrations, e.g. migrations',
    ]);
    expect(problems(withGate('{ name: r, kind: rollback_plan, args: { source: github, repo: shop/checkout } }', gh))).toEqual([
      'services.shop.gates[0]: a rollback_plan gate cannot ask GitHub',
    ]);
    expect(problems(withGate('{ name: r, kind: tests_passed, args: { source: bitbucket, repo: shop/checkout } }', gh))).toEqual([
      'services.shop.gates[0].args.source: "bitbucket" is not a gate source (github, gitlab)',
    ]);
    expect(
      parseConfig(withGate('{ name: t, kind: tests_passed, args: { source: github, repo: shop/checkout, checks: [test] } }', gh)).providers.github,
    ).toEqual({
      api_url: 'https://api.github.com',
      token: '${GITHUB_TOKEN}',
    });
  });
  test('a GitLab gate needs providers.gitlab and the project as its path (or id)', () => {
    expect(problems(withGate('{ name: tests, kind: tests_passed, args: { source: gitlab, repo: shop/checkout } }'))).toEqual([
      'services.shop.gates[0]: asks GitLab, but providers.gitlab is not configured (token: ${GITLAB_TOKEN})',
      'services.shop.gates[0].args.project: the project as its path, e.g. shop/web/checkout (or its numeric id)',
    ]);
    const gl = 'providers:\n  gitlab: { token: "${GITLAB_TOKEN}" }\n';
    expect(problems(withGate('{ name: t, kind: tests_passed, args: { source: gitlab, project: "../etc" } }', gl))).toEqual([
      'services.shop.gates[0].args.project: the project as its path, e.g. shop/web/checkout (or its numeric id)',
    ]);
    expect(parseConfig(withGate('{ name: t, kind: tests_passed, args: { source: gitlab, project: shop/web/checkout } }', gl)).providers.gitlab).toEqual({
      api_url: 'https://gitlab.com/api/v4',
      token: '${GITLAB_TOKEN}',
    });
  });
});

describe('the release calendar', () => {
  const svc = (extra: string) =>
    `freezes:\n  - { reason: end of year, every_year: { from: "12-18", to: "12-31" } }\nservices:\n  shop:\n    deployer: { type: sandbox }\n${extra}`;
  test('freezes (top level and per service) reach the plan in their zone, the window with its at_end', () => {
    const cfg = parseConfig(
      svc(
        '    release_window: { days: [tue], start: "15:00", end: "17:00", time_zone: America/Los_Angeles, at_end: finish }\n    on_freeze: refuse\n    freezes: [ { reason: no Friday afternoons, days: [fri], after: "15:00" } ]\n',
      ),
    );
    const { plan } = resolveRelease(cfg, { service: 'shop', version: 'v1.2.3', requestedBy: 'ana', source: 'cli' });
    expect(plan.window).toEqual({ days: [2], start: '15:00', end: '17:00', timeZone: 'America/Los_Angeles', atEnd: 'finish' });
    expect(plan.freezes).toEqual([
      { reason: 'end of year', timeZone: 'America/Los_Angeles', yearly: { from: '12-18', to: '12-31' } },
      { reason: 'no Friday afternoons', timeZone: 'America/Los_Angeles', days: [5], after: '15:00' },
    ]);
    expect(plan.onFreeze).toBe('refuse');
  });
  test('a freeze that says nothing, dates the wrong way round, an unknown zone are refused with their paths', () => {
    expect(problems(svc('    freezes: [ { reason: nothing } ]\n'))).toEqual([
      'services.shop.freezes[0]: a freeze needs dates (from, to), every_year, days or a time (after, before), found a mapping',
    ]);
    expect(problems(svc('    freezes: [ { reason: r, from: "2026-12-20", to: "2026-12-01" } ]\n'))).toEqual([
      'services.shop.freezes[0].to: from must not be after to, found a mapping',
    ]);
    expect(problems(svc('    release_window: { days: [tue], start: "15:00", end: "17:00", time_zone: Mars/Olympus }\n'))).toEqual([
      'services.shop.release_window.time_zone: an IANA time zone like America/Los_Angeles or UTC, found string "Mars/Olympus"',
    ]);
  });
});

test('approvals by quorum reach the plan: required, the groups, the reminder, the escalation (twice the reminder unless told)', () => {
  const cfg = parseConfig(
    'services:\n  shop:\n    deployer: { type: sandbox }\n    approvers: ["group:@backend-leads", "group:@qa"]\n    approvals: { required: 2, from: ["group:@backend-leads", "group:@qa"], timeout_minutes: 90, remind_after_minutes: 15, escalate_to: "group:@eng-managers" }\n',
  );
  const { plan } = resolveRelease(cfg, { service: 'shop', version: 'v1.2.3', requestedBy: 'ana', source: 'cli' });
  expect(plan.approvalTimeoutMs).toBe(90 * 60_000);
  expect(plan.approvalPolicy).toEqual({
    required: 2,
    fromGroups: ['group:@backend-leads', 'group:@qa'],
    remindAfterMs: 15 * 60_000,
    escalateAfterMs: 30 * 60_000,
    escalateTo: 'group:@eng-managers',
  });
  expect(problems('services:\n  shop:\n    deployer: { type: sandbox }\n    approvals: { required: 1, from: ["group:@a", "group:@b"] }\n')).toEqual([
    expect.stringContaining('services.shop.approvals.from: from names more groups than required approvals can cover'),
  ]);
});

describe('strategies, bake and waves', () => {
  const cw = 'metrics: { type: cloudwatch, namespace: Shop, dimensions: { Version: "${version}" }, metrics: { requests: R, errors: E, latency: L } }';
  test('strategy ab needs a metrics source that measures conversion', () => {
    expect(problems(`services:\n  shop:\n    strategy: ab\n    ${cw}\n`)).toEqual([
      expect.stringMatching(/services\.shop\.metrics.*strategy ab decides on a business metric/),
    ]);
    expect(() => parseConfig(`services:\n  shop:\n    strategy: ab\n`, 't.yml')).not.toThrow();
  });
  test('the bake: 15 min unless the config or the service says otherwise; flag ramps do not bake', () => {
    const cfg = parseConfig('deployments: { bake_minutes: 5 }\nservices:\n  a: {}\n  b: { bake_minutes: 0 }\n', 't.yml');
    expect(resolveRelease(cfg, { service: 'a', version: 'v1.0.0', requestedBy: 'ana', source: 'cli' }).plan.bakeMs).toBe(5 * 60_000);
    expect(resolveRelease(cfg, { service: 'b', version: 'v1.0.0', requestedBy: 'ana', source: 'cli' }).plan.bakeMs).toBe(0);
    expect(
      resolveRelease(parseConfig('services:\n  a: {}\n', 't.yml'), { service: 'a', version: 'v1.0.0', requestedBy: 'ana', source: 'cli' }).plan.bakeMs,
    ).toBe(15 * 60_000);
  });
  test('waves: a region listed twice, a cap beside its own stages, and a stage approval per region are refused', () => {
    const svc = (regions: string, extra = '') => parseConfig(`services:\n  a:\n    regions: ${regions}\n${extra}`, 't.yml');
    const ask = { service: 'a', version: 'v1.0.0', requestedBy: 'ana', source: 'cli' } as const;
    expect(() => resolveRelease(svc('[us-east-1, us-east-1]'), ask)).toThrow('region us-east-1 is listed twice');
    expect(problems('services:\n  a:\n    regions: [{ name: eu-west-1, max_percent: 10, rollout_plan: [{ traffic_percent: 10 }] }]\n')).toEqual([
      expect.stringMatching(/max_percent caps the service stages/),
    ]);
    expect(() =>
      resolveRelease(
        svc('[{ name: us-east-1 }]', '    rollout_plan: [{ traffic_percent: 50, duration_minutes: 1 }, { traffic_percent: 100, team_approval: required }]\n'),
        ask,
      ),
    ).toThrow(/stage full rollout 100 % needs a team approval/);
    // plain names: the rollout in parallel, as before
    expect(resolveRelease(svc('[us-east-1, eu-west-1]'), ask).plan).toMatchObject({ regions: ['us-east-1', 'eu-west-1'] });
    expect(resolveRelease(svc('[us-east-1, eu-west-1]'), ask).plan.waves).toBeUndefined();
  });
});
