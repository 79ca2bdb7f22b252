// What a version may look like, per service (`version_pattern`): teams ship semver, git SHAs, date tags
// and container image tags. Whatever the format, a version is also held to SAFE — letters, digits and
// `._+-`, not starting with `-` or `.` — so no shell, option parser or path ever reads anything into it.

export const VERSION_FORMATS = {
  /** v1.2.3, 1.2.4-rc.1, v2.0.0+build.7 */
  semver: /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/,
  /** a commit: 7 to 40 lowercase hex digits */
  'git-sha': /^[0-9a-f]{7,40}$/,
  /** 2026-12-01, 20261201, 2026.12.01-2 */
  date: /^\d{4}([-.]?)\d{2}\1\d{2}([._-][0-9A-Za-z]+)*$/,
  /** a container image tag (the OCI grammar, within SAFE) */
  'image-tag': /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/,
} as const;
export type VersionFormat = keyof typeof VERSION_FORMATS;
export const VERSION_FORMAT_NAMES = Object.keys(VERSION_FORMATS) as VersionFormat[];

/** One named format, several, or a team's own regular expression (still within SAFE). */
export type VersionPattern = VersionFormat | VersionFormat[] | { regex: string };

export const SAFE_VERSION = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;
export const MAX_VERSION_LENGTH = 128;

const EXAMPLES: Record<VersionFormat, string> = { semver: 'v1.2.3', 'git-sha': '3f9c2ab', date: '2026-12-01', 'image-tag': '1.27-alpine' };

/** Does `version` match the pattern (and SAFE)? */
export function matchesVersionPattern(version: string, pattern: VersionPattern = 'semver'): boolean {
  if (!SAFE_VERSION.test(version)) return false;
  if (typeof pattern === 'object' && !Array.isArray(pattern)) return new RegExp(`^(?:${pattern.regex})$`).test(version);
  return (Array.isArray(pattern) ? pattern : [pattern]).some((f) => VERSION_FORMATS[f].test(version));
}

/** How to write a version that matches, for the error message. */
export function describeVersionPattern(pattern: VersionPattern = 'semver'): string {
  if (typeof pattern === 'object' && !Array.isArray(pattern)) return `match /${pattern.regex}/ (letters, digits and ._+- only)`;
  return `write it like ${(Array.isArray(pattern) ? pattern : [pattern]).map((f) => `${EXAMPLES[f]} (${f})`).join(' or ')}`;
}
