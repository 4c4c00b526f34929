// In-memory maps that must not grow without bound: past their capacity, the entry set first goes.

/** Sets key to value as the newest entry, first dropping the oldest while the map is full. */
export function setBounded<K, V>(map: Map<K, V>, capacity: number, key: K, value: V): void {
  map.delete(key);
  for (const oldest of map.keys()) {
    if (map.size < capacity) break;
    map.delete(oldest);
  }
  map.set(key, value);
}
