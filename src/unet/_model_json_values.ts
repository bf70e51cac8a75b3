/**
 * The value checks shared by the model.json checks: JSON shapes, short renderings of bad values
 * for messages, and one layer entry of a topology. Internal.
 *
 * @module
 */

/** A JSON object. */
export type Json = Record<string, unknown>;

/** A JSON object (not null, not an array). */
export const isObject = (u: unknown): u is Json =>
  typeof u === "object" && u !== null && !Array.isArray(u);
/** An integer >= 0. */
export const isIndex = (u: unknown): u is number => Number.isSafeInteger(u) && (u as number) >= 0;
/** An integer >= 1. */
export const isPositiveInt = (u: unknown): u is number =>
  Number.isSafeInteger(u) && (u as number) >= 1;
/** A value as at most 60 characters of JSON, for messages. */
export const show = (u: unknown): string => {
  let s: string;
  try {
    s = JSON.stringify(u) ?? String(u);
  } catch {
    s = String(u);
  }
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
};

/** The largest channel count, kernel side or factor a config may ask for. */
export const MAX_SIZE = 1 << 16;

/** One layer of the config, its fields checked for type. */
export interface LayerEntry {
  readonly name: string;
  readonly cls: string;
  readonly config: Json;
  readonly nodes: readonly (readonly unknown[])[];
}

/** A positive integer, or a list of them, up to MAX_SIZE. */
export function sizes(u: unknown): number[] | undefined {
  const list = Array.isArray(u) ? u : [u];
  return list.length > 0 && list.every((v) => isPositiveInt(v) && v <= MAX_SIZE)
    ? list as number[]
    : undefined;
}
