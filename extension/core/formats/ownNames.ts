/**
 * Records keyed by names that come from files (tensor names, metadata keys, header dict keys). A
 * plain object answers `record['constructor']` with Object and takes `record['__proto__'] = x` as a
 * new prototype: these two keep such names ordinary keys.
 */

/** Sets `record[key]` as the record's own property, whatever the key ("__proto__" included). */
export function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `record[key]` when the record itself holds it; never a property inherited from Object.prototype. */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
