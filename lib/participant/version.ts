// XA needs a server that keeps prepared branches across disconnects: MariaDB >= 10.5 or
// MySQL >= 8.0.29. Older servers silently roll them back, which would break atomicity.
export function supportsDurableXa(version: string): boolean {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (/mariadb/i.test(version)) return major > 10 || (major === 10 && minor >= 5);
  return major > 8 || (major === 8 && (minor > 0 || patch >= 29));
}
