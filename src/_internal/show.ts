/**
 * Values as short text for error messages: bounded whatever the value (a typed array of a
 * million floats, a cyclic or deep object, a 10 MB string), and free of dependencies so any
 * module (and the browser entry) can use it.
 *
 * @module
 */

/**
 * A short readable rendering of a value for messages (`"abc"`, `2.5`, `NaN`, `undefined`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { show } from "./show.ts";
 * assert.equal(show("x"), '"x"');
 * assert.equal(show(NaN), "NaN");
 * ```
 */
export function show(u: unknown): string {
  if (u === undefined) return "undefined";
  if (typeof u === "number" && !Number.isFinite(u)) return String(u);
  if (typeof u === "string") return quoted(u);
  if (ArrayBuffer.isView(u)) {
    const n = (u as unknown as { length?: number }).length ?? u.byteLength;
    return `a ${u.constructor.name} of ${n} values`;
  }
  if (typeof u === "function") return "a function";
  if (typeof u === "symbol" || typeof u === "bigint") return `${typeof u} ${cut(String(u), 40)}`;
  if (typeof u === "object" && u !== null) {
    const proto = Object.getPrototypeOf(u);
    if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
      return `a ${proto?.constructor?.name ?? "non-plain"} object`;
    }
    // Bounded and cycle-safe: never serialise a large or deep value just to cut it.
    let calls = 0;
    try {
      const s = JSON.stringify(u, (_k, v) => {
        if (++calls > 24 || (typeof v === "string" && v.length > 60)) throw new RangeError();
        return v;
      });
      return s.length > 60 ? `${s.slice(0, 57)}...` : s;
    } catch {
      return Array.isArray(u) ? `an array of ${u.length}` : "an object";
    }
  }
  return cut(String(u), 60);
}

/** `s` cut to `max` characters, saying how many were left out. */
export function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}… (${s.length - max} more characters cut)`;
}

/** A string in double quotes for messages, cut to 40 characters. */
export function quoted(s: string): string {
  return s.length <= 40
    ? JSON.stringify(s)
    : `${JSON.stringify(s.slice(0, 40)).slice(0, -1)}…" (${s.length} characters)`;
}
