// A request body to start from, made from an OpenAPI 3.1 schema: what the /docs page's "Try it" form
// shows before the user edits it.

/** @typedef {Record<string, any>} Schema */

const MAX_DEPTH = 6;

/**
 * The schema a `$ref` names (`#/components/schemas/X`), or the schema itself.
 * @param {Schema} schema
 * @param {Schema} components
 * @returns {Schema}
 */
function resolve(schema, components) {
  const ref = typeof schema.$ref === 'string' ? schema.$ref : null;
  if (!ref?.startsWith('#/components/')) {
    return schema;
  }
  /** @type {any} */
  let node = { components };
  for (const part of ref.slice(2).split('/')) {
    node = node?.[part];
  }
  return node ?? {};
}

/**
 * A value that the schema accepts, as short as the schema allows: its example, default or first enum value
 * when it has one; the required properties of an object (all of them when none is required); one item of an
 * array that needs one; a string of its minimum length (an email for `format: email`).
 * @example sampleOf({ $ref: '#/components/schemas/Login' }, doc.components) // { email: 'user@example.com', password: 'password' }
 * @param {Schema} schema
 * @param {Schema} components the OpenAPI document's `components`
 * @param {number} [depth]
 * @returns {unknown}
 */
export function sampleOf(schema, components, depth = 0) {
  const s = resolve(schema ?? {}, components);
  if (depth > MAX_DEPTH) {
    return null;
  }
  if (s.example !== undefined) {
    return s.example;
  }
  if (Array.isArray(s.examples) && s.examples.length > 0) {
    return s.examples[0];
  }
  if (s.default !== undefined) {
    return s.default;
  }
  if (s.const !== undefined) {
    return s.const;
  }
  if (Array.isArray(s.enum) && s.enum.length > 0) {
    return s.enum[0];
  }
  const variants = s.anyOf ?? s.oneOf;
  if (Array.isArray(variants)) {
    const first = variants.find((v) => resolve(v, components).type !== 'null') ?? variants[0];
    return sampleOf(first, components, depth + 1);
  }
  if (Array.isArray(s.allOf)) {
    return Object.assign({}, ...s.allOf.map((part) => sampleOf(part, components, depth + 1)));
  }
  const type = Array.isArray(s.type) ? (s.type.find((t) => t !== 'null') ?? 'null') : s.type;
  switch (type) {
    case 'object': {
      const properties = /** @type {Record<string, Schema>} */ (s.properties ?? {});
      const required =
        Array.isArray(s.required) && s.required.length > 0 ? s.required : Object.keys(properties);
      /** @type {Record<string, unknown>} */
      const out = {};
      for (const name of required) {
        out[name] = sampleOf(properties[name] ?? {}, components, depth + 1);
      }
      return out;
    }
    case 'array':
      return (s.minItems ?? 0) > 0 ? [sampleOf(s.items ?? {}, components, depth + 1)] : [];
    case 'string':
      return stringSample(s);
    case 'integer':
    case 'number':
      return s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : 0);
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return s.properties ? sampleOf({ ...s, type: 'object' }, components, depth) : null;
  }
}

/** @param {Schema} s */
function stringSample(s) {
  if (s.format === 'email') {
    return 'user@example.com';
  }
  if (s.format === 'uuid') {
    return '00000000-0000-0000-0000-000000000000';
  }
  if (s.format === 'date-time') {
    return new Date(0).toISOString();
  }
  const base = 'string';
  const min = s.minLength ?? 0;
  return min > base.length ? base.padEnd(min, 'x') : base;
}
