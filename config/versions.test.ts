// Versions as teams ship them, per service, and nothing a shell would read whatever the pattern says.
import { parseConfig } from './load';
import { resolveRelease, validateVersion } from './resolve';
import { matchesVersionPattern, type VersionPattern } from './versions';

describe('version_pattern', () => {
  test.each([
    ['semver', ['v1.2.3', '1.2.4-rc.1', 'v2.0.0+build.7'], ['3f9c2ab', '2026-12-01', 'v1.2', 'latest']],
    ['git-sha', ['3f9c2ab', '3f9c2ab0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6'], ['3F9C2AB', '3f9c2a', 'v1.2.3', 'g3f9c2ab']],
    ['date', ['2026-12-01', '20261201', '2026.12.01-2'], ['2026-12', '2026-12.01', 'v1.2.3']],
    ['image-tag', ['1.27-alpine', 'v1.2.3', 'sha-3f9c2ab', 'latest'], ['-rc', '.hidden', 'a:b', 'a/b']],
  ] as const)('%s accepts its own and refuses the rest', (format, good, bad) => {
    for (const v of good) expect([v, matchesVersionPattern(v, format)]).toEqual([v, true]);
    for (const v of bad) expect([v, matchesVersionPattern(v, format)]).toEqual([v, false]);
  });

  test('hostile versions stay refused whatever the pattern, a custom regex included', () => {
    const hostile = ['v1.2.3; rm -rf /', '$(reboot)', '--help', '`id`', 'a b', '../etc', 'v1|x', 'x'.repeat(129)];
    const patterns: VersionPattern[] = ['semver', 'git-sha', 'date', 'image-tag', ['semver', 'image-tag'], { regex: '.*' }];
    for (const pattern of patterns) {
      for (const v of hostile) expect([v, pattern, matchesVersionPattern(v, pattern)]).toEqual([v, pattern, false]);
    }
  });

  test('a service that ships git SHAs releases one, and refuses semver with a message saying how to write it', () => {
    const cfg = parseConfig(
      ['services:', '  api:', '    version_pattern: [git-sha, date]', '    rollout_plan: [{ traffic_percent: 100 }]'].join('\n'),
      'quad.yml',
    );
    expect(resolveRelease(cfg, { service: 'api', version: '3f9c2ab', requestedBy: 'ana', source: 'cli' }).plan.version).toBe('3f9c2ab');
    expect(() => resolveRelease(cfg, { service: 'api', version: 'v1.2.3', requestedBy: 'ana', source: 'cli' })).toThrow(
      '"v1.2.3" is not a version: write it like 3f9c2ab (git-sha) or 2026-12-01 (date)',
    );
    expect(() => validateVersion('v1.2.3; rm -rf /', { regex: '.*' })).toThrow(/is not a version/);
  });

  test('the schema refuses an unknown format and a regex that does not compile', () => {
    expect(() => parseConfig('services:\n  api:\n    version_pattern: calver\n', 'quad.yml')).toThrow(/services\.api\.version_pattern/);
    expect(() => parseConfig("services:\n  api:\n    version_pattern: { regex: '([' }\n", 'quad.yml')).toThrow(/valid regular expression/);
  });
});
