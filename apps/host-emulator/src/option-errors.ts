/**
 * Turns a zod issue of the `createVm` options schema into one line in the README's form:
 * `createVm option <path> = <value>: <what is accepted>`. What is accepted is read from the schema
 * at the issue's path (bounds, enum members, record keys), so every kind of issue gets it.
 */
import type { z } from 'zod';

/** Values echoed in a message are cut to about this many characters. */
const MAX_VALUE_CHARS = 40;

type Schema = z.core.$ZodType;
type Def = { type: string; innerType?: Schema; shape?: Record<string, Schema> } & Record<string, unknown>;

const defOf = (s: Schema): Def => s._zod.def as unknown as Def;

/** The schema without its default/optional wrappers, its description and default. */
function unwrap(s: Schema): { inner: Schema; description?: string; defaultValue?: unknown } {
  let inner = s;
  let description = (s as { description?: string }).description;
  let defaultValue: unknown;
  for (;;) {
    const def = defOf(inner);
    if ((def.type !== 'default' && def.type !== 'optional') || def.innerType === undefined) break;
    if (def.type === 'default') defaultValue = def.defaultValue;
    inner = def.innerType;
    description ??= (inner as { description?: string }).description;
  }
  return { inner, ...(description === undefined ? {} : { description }), defaultValue };
}

/** The child schema at one step of a path (object key or record value), or undefined. */
function child(s: Schema, key: PropertyKey): Schema | undefined {
  const { inner } = unwrap(s);
  const def = defOf(inner);
  if (def.type === 'object') return def.shape?.[String(key)];
  if (def.type === 'record') return def.valueType as Schema;
  return undefined;
}

function schemaAt(root: Schema, path: readonly PropertyKey[]): Schema | undefined {
  let s: Schema | undefined = root;
  for (const key of path) s = s === undefined ? undefined : child(s, key);
  return s;
}

const quote = (v: unknown) => (typeof v === 'string' ? `'${v}'` : String(v));

const list = (items: readonly unknown[]) => items.map(quote).join(', ');

/** The keys an object or record schema takes, or undefined when any key is fine. */
export function keysOf(s: Schema): readonly string[] | undefined {
  const def = defOf(unwrap(s).inner);
  if (def.type === 'object') return Object.keys(def.shape ?? {});
  if (def.type === 'record') {
    const keyDef = defOf(def.keyType as Schema);
    return keyDef.type === 'enum' ? Object.values(keyDef.entries as Record<string, string>) : undefined;
  }
  return undefined;
}

/** What a schema accepts, in words: `an integer from 1 to 4096 (default 1)`. */
export function accepted(s: Schema): string {
  const { inner, description, defaultValue } = unwrap(s);
  const dflt =
    defaultValue === undefined || typeof defaultValue === 'object' ? '' : ` (default ${quote(defaultValue)})`;
  if (description !== undefined) return `${description}${dflt}`;
  const def = defOf(inner);
  switch (def.type) {
    case 'number': {
      const n = inner as z.ZodNumber;
      const what = n.isInt ? 'an integer' : 'a number';
      const bounds = (min: number | null, max: number | null) =>
        min !== null && Number.isFinite(min) && max !== null && Number.isFinite(max)
          ? ` from ${min} to ${max}`
          : min !== null && Number.isFinite(min)
            ? ` ≥ ${min}`
            : max !== null && Number.isFinite(max)
              ? ` ≤ ${max}`
              : '';
      // Safe-integer bounds are zod's int() defaults, not the option's.
      const min = n.minValue === Number.MIN_SAFE_INTEGER ? null : n.minValue;
      const max = n.maxValue === Number.MAX_SAFE_INTEGER ? null : n.maxValue;
      return `${what}${bounds(min, max)}${dflt}`;
    }
    case 'boolean':
      return `true or false${dflt}`;
    case 'enum':
      return `${list(Object.values(def.entries as Record<string, string>))}${dflt}`;
    case 'record': {
      const keys = keysOf(inner);
      const value = accepted(def.valueType as Schema);
      return keys === undefined
        ? `an object whose values are ${value}`
        : `an object of names (${keys.join(', ')}) to ${value}`;
    }
    case 'object':
      return `an object with ${(keysOf(inner) ?? []).join(', ')}`;
    default:
      return `a ${def.type}`;
  }
}

/** A value as a message shows it: strings quoted, objects as JSON, cut to ~40 characters. */
export function showValue(v: unknown): string {
  let text: string;
  if (typeof v === 'string') text = `'${v}'`;
  else if (typeof v === 'bigint') text = `${v}n`;
  else if (typeof v === 'object' && v !== null) {
    try {
      text = JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x)) ?? String(v);
    } catch {
      text = Object.prototype.toString.call(v);
    }
  } else text = String(v);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS - 1)}…` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): { found: boolean; value?: unknown } {
  let v: unknown = root;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return { found: false };
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: v };
}

/**
 * A path as the message names it: `features.AccessVsm`, or `features['\u0020']` for a key that is
 * not a plain name (blank, dotted, very long), so the path stays one token on one line.
 */
function pathText(path: readonly PropertyKey[]): string {
  return path
    .map((key, i) => {
      const k = String(key);
      if (/^[A-Za-z_$][\w$-]*$/.test(k) && k.length <= MAX_VALUE_CHARS) return i === 0 ? k : `.${k}`;
      // Blanks, quotes and control characters escaped, so the path has no white space in it.
      const escaped = k.replace(
        /[\s'\\\p{C}]/gu,
        (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`,
      );
      const cut = escaped.length > MAX_VALUE_CHARS ? `${escaped.slice(0, MAX_VALUE_CHARS - 1)}…` : escaped;
      return `['${cut}']`;
    })
    .join('');
}

/** What an unknown key is called under `path`: `option`, `feature`, `package`. */
function keyNoun(path: readonly PropertyKey[]): string {
  const last = path.at(-1);
  if (last === 'features') return 'feature';
  if (last === 'packages') return 'package';
  return 'option';
}

/** One line for the first issue: `createVm option <path> = <value>: <what is accepted>`. */
export function formatOptionIssue(root: Schema, options: unknown, issue: z.core.$ZodIssue): string {
  const name = (path: readonly PropertyKey[]) =>
    path.length > 0 ? `createVm option ${pathText(path)}` : 'createVm options';
  const at = (path: readonly PropertyKey[]) => {
    const { found, value } = valueAt(options, path);
    return found && value !== undefined ? `${name(path)} = ${showValue(value)}` : name(path);
  };
  if (issue.code === 'unrecognized_keys') {
    // One line per run: the first unknown key, and the keys that are accepted there.
    const key = issue.keys[0]!;
    const where = schemaAt(root, issue.path);
    const keys = where === undefined ? undefined : keysOf(where);
    const rest = issue.keys.length > 1 ? ` (and ${issue.keys.slice(1).map(quote).join(', ')})` : '';
    return `${at([...issue.path, key])}: unknown ${keyNoun(issue.path)}${rest}; accepted: ${keys?.join(', ') ?? '-'}`;
  }
  if (issue.code === 'custom') return `${at(issue.path)}: ${issue.message}`;
  const schema = schemaAt(root, issue.path);
  const { found, value } = valueAt(options, issue.path);
  const missing = issue.code === 'invalid_type' && (!found || value === undefined);
  const what = schema === undefined ? issue.message : `accepted: ${accepted(schema)}`;
  return missing ? `${name(issue.path)} is missing; ${what}` : `${at(issue.path)}: ${what}`;
}
