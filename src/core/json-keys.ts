/**
 * Every string value of `key` anywhere in a JSON value (graph nodes, batch data): what a batch names by
 * `board_id` or `image_name`, to check in one query.
 * @example stringsAtKey([graph, data], 'image_name') // Set { 'a.png' }
 */
export function stringsAtKey(value: unknown, key: string, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) {
      stringsAtKey(v, key, found);
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === key && typeof v === 'string') {
        found.add(v);
      } else {
        stringsAtKey(v, key, found);
      }
    }
  }
  return found;
}
