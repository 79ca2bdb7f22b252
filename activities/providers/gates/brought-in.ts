// What a release brings, for any forge: given the commits since the serving version, the merged change
// requests (pull or merge requests) they came in through, by number, and the commits no merged one
// brought (pushed straight to the branch). GitHub's and GitLab's gate clients share it.

export async function broughtIn<R>(
  commits: string[],
  requestsOf: (sha: string) => Promise<R[]>,
  merged: (r: R) => boolean,
  numberOf: (r: R) => number,
): Promise<{ requests: R[]; direct: string[] }> {
  const requests = new Map<number, R>();
  const direct: string[] = [];
  for (const sha of commits) {
    const mergedOnes = (await requestsOf(sha)).filter(merged);
    if (mergedOnes.length === 0) direct.push(sha);
    for (const r of mergedOnes) requests.set(numberOf(r), r);
  }
  return { requests: [...requests.values()].sort((a, b) => numberOf(a) - numberOf(b)), direct };
}
