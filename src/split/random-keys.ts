/**
 * Seeded per-event random keys. DuckDB's own `hash()`/`random()` are not stable across versions
 * or thread schedules, so keys are computed in JS from (seed, event_idx).
 * A key depends only on its event and the seed: filtering other events never reshuffles it.
 */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform key in [0, 1) (53 bits) for an event index under a seed; stateless and platform-independent. */
export function eventKey(seed: number, eventIdx: number): number {
  const s = fmix32((seed >>> 0) ^ 0x9e3779b9);
  const lo = eventIdx >>> 0;
  const hi = Math.floor(eventIdx / 4294967296) >>> 0;
  const a = fmix32(lo ^ fmix32(hi ^ s));
  const b = fmix32((a + 0x6a09e667) ^ s);
  return ((a >>> 5) * 67108864 + (b >>> 6)) / 9007199254740992;
}
