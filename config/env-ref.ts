// Secrets live in config only as `${ENV_VAR}` references; the value is read from the environment where
// it is used (worker, Slack app), never carried in a plan, a notice or a log.

/** `${SLACK_BOT_TOKEN}` → SLACK_BOT_TOKEN */
export function envNameOf(ref: string): string {
  const m = /^\$\{([A-Z_][A-Z0-9_]*)\}$/.exec(ref);
  if (!m) throw new Error(`${JSON.stringify(ref)} is not an \${ENV_VAR} reference`);
  return m[1];
}
