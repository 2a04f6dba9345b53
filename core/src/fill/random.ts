/**
 * A tiny seeded PRNG (xorshift32 after a splitmix-style seed scramble). The fill is deterministic for a
 * seed because every random draw comes from here, in a fixed order.
 */

/** Scrambles a user seed into a non-zero xorshift32 state. */
export function seedState(seed: number): number {
  let z = (Math.floor(seed) | 0) + 0x9e3779b9;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return z === 0 ? 0x6d2b79f5 : z;
}

/** One xorshift32 step: returns the next state (never 0 for a non-zero input). */
export function nextState(s: number): number {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return s;
}

/** An integer in [0, n) from a state (n < 2^31). */
export function below(s: number, n: number): number {
  return (s >>> 0) % n;
}
