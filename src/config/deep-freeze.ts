/** Freezes a value and everything it holds (a URL is frozen, not walked). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    if (!(value instanceof URL)) for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
