/**
 * Makes room in an insertion-ordered map used as a bounded cache: when it holds `max` entries, drops the oldest
 * eighth at once. Dropping one entry per insert (`map.delete(map.keys().next().value)`) is slow in V8: deleted
 * entries stay in the table until it is rebuilt, and every `keys().next()` walks past them from the start, so a
 * full map paid thousands of steps per insert. One walk per eighth is amortized O(1).
 */
export function makeRoomFor<K, V>(map: Map<K, V>, max: number): void {
  if (map.size < max) return;
  let drop = Math.max(1, Math.ceil(max / 8));
  for (const key of map.keys()) {
    map.delete(key);
    if (--drop === 0) break;
  }
}
