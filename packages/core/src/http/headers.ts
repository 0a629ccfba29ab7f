/** Anything `respond()` accepts as response headers. */
export type HeadersInit =
  | Headers
  | Readonly<Record<string, string | number | readonly string[] | undefined>>
  | ReadonlyArray<readonly [string, string]>;

/**
 * An ordered list of HTTP header fields. Lookups are case-insensitive, names
 * keep the case they arrived in, and duplicates (`Set-Cookie`, repeated
 * `Via`) are kept in order. Request headers come straight from the parser;
 * response headers are built from whatever `respond()` was given.
 */
export class Headers implements Iterable<[string, string]> {
  /** Flat `[name, value, name, value, …]`, the same shape as Node's rawHeaders. */
  #raw: string[];

  constructor(init?: HeadersInit) {
    this.#raw = flattenHeaders(init);
  }

  /** Wraps a flat `[name, value, …]` list without copying it. */
  static fromRaw(raw: string[]): Headers {
    const headers = new Headers();
    headers.#raw = raw;
    return headers;
  }

  /** Number of fields, duplicates counted. */
  get size(): number {
    return this.#raw.length >> 1;
  }

  /** The first value of `name`, or `undefined`. */
  get(name: string): string | undefined {
    const raw = this.#raw;
    for (let i = 0; i < raw.length; i += 2) {
      if (equalsIgnoreCase(raw[i]!, name)) return raw[i + 1];
    }
    return undefined;
  }

  /** Every value of `name`, in order. */
  getAll(name: string): string[] {
    const values: string[] = [];
    const raw = this.#raw;
    for (let i = 0; i < raw.length; i += 2) {
      if (equalsIgnoreCase(raw[i]!, name)) values.push(raw[i + 1]!);
    }
    return values;
  }

  /** How many fields named `name` there are. */
  count(name: string): number {
    let n = 0;
    const raw = this.#raw;
    for (let i = 0; i < raw.length; i += 2) if (equalsIgnoreCase(raw[i]!, name)) n++;
    return n;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Adds a field, keeping any existing ones of the same name. */
  append(name: string, value: string): this {
    this.#raw.push(name, value);
    return this;
  }

  /** Replaces every field named `name` with one field. */
  set(name: string, value: string): this {
    this.delete(name);
    this.#raw.push(name, value);
    return this;
  }

  delete(name: string): this {
    const raw = this.#raw;
    for (let i = raw.length - 2; i >= 0; i -= 2) {
      if (equalsIgnoreCase(raw[i]!, name)) raw.splice(i, 2);
    }
    return this;
  }

  /**
   * True when `name`'s comma-separated values contain `token`, compared
   * case-insensitively (`Connection: keep-alive, Upgrade` has `upgrade`).
   */
  hasToken(name: string, token: string): boolean {
    for (const value of this.getAll(name)) {
      for (const item of value.split(',')) {
        if (equalsIgnoreCase(item.trim(), token)) return true;
      }
    }
    return false;
  }

  /** A copy of the flat `[name, value, …]` list. */
  toRaw(): string[] {
    return this.#raw.slice();
  }

  *[Symbol.iterator](): IterableIterator<[string, string]> {
    const raw = this.#raw;
    for (let i = 0; i < raw.length; i += 2) yield [raw[i]!, raw[i + 1]!];
  }

  entries(): IterableIterator<[string, string]> {
    return this[Symbol.iterator]();
  }

  toJSON(): Array<[string, string]> {
    return [...this];
  }
}

export function equalsIgnoreCase(a: string, b: string): boolean {
  return a.length === b.length && (a === b || a.toLowerCase() === b.toLowerCase());
}

/**
 * Flattens response headers to `[name, value, …]`, the shape both Node's
 * `writeHead` and the worker dispatch protocol take.
 */
export function flattenHeaders(init: HeadersInit | undefined): string[] {
  if (init === undefined) return [];
  if (init instanceof Headers) return init.toRaw();
  const raw: string[] = [];
  if (Array.isArray(init)) {
    for (const pair of init as ReadonlyArray<readonly [string, string]>) raw.push(pair[0], pair[1]);
    return raw;
  }
  const record = init as Readonly<Record<string, string | number | readonly string[] | undefined>>;
  for (const name of Object.keys(record)) {
    const value = record[name];
    if (value === undefined) continue;
    if (typeof value === 'string') raw.push(name, value);
    else if (typeof value === 'number') raw.push(name, String(value));
    else for (const item of value) raw.push(name, item);
  }
  return raw;
}
