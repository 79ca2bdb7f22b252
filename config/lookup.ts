// Looking up a config entry by a name a person typed. `map[name]` also finds what every object inherits
// (`__proto__`, `constructor`, `toString`, ...), so `--service constructor` would select a function.
// Only the map's own entries count.

/** The entry `key` names in `map`, or undefined when the map has no own entry of that name. */
export function ownEntry<V>(map: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Names every plain object already answers to; refused as config names so no lookup can mistake them. */
export const INHERITED_NAMES: ReadonlySet<string> = new Set(Object.getOwnPropertyNames(Object.prototype));

export const isInheritedName = (name: string): boolean => INHERITED_NAMES.has(name);
