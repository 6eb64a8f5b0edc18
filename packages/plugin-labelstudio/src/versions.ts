/** What differs between Label Studio versions, in one place (the plugin, the simulator and the tests ask here). */

const minor = (version: string): [number, number] => {
  const [major = 0, min = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  return [major, min];
};

/** Personal Access Tokens (`/api/token/refresh/`, Bearer access tokens) exist from about 1.17; 1.7 has none. */
export function hasPersonalAccessTokens(version: string): boolean {
  const [major, min] = minor(version);
  return major > 1 || (major === 1 && min >= 17);
}
