// Numbers for people: the wording of every explanation (Slack, the CLI) goes through these.

export function fmtPct(fraction: number): string {
  const p = fraction * 100;
  if (p === 0) return '0 %';
  if (p >= 10) return `${p.toFixed(1)} %`;
  if (p >= 1) return `${p.toFixed(1)} %`;
  if (p >= 0.1) return `${p.toFixed(2)} %`;
  return `${p.toPrecision(1)} %`;
}

export function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return '∞×';
  if (r >= 10) return `${Math.round(r)}×`;
  return `${Number(r.toFixed(2))}×`;
}

export function fmtConfidence(c: number): string {
  // Truncate, never round up: "99.9 %" must not overstate 99.86 %.
  const p = Math.floor(Math.min(c, 0.999) * 1000) / 10;
  return `${p.toFixed(1)} %`;
}

export function fmtNum(x: number, unit: string): string {
  const v = Math.abs(x) >= 100 ? Math.round(x) : Number(x.toFixed(1));
  return `${v}${unit}`;
}
