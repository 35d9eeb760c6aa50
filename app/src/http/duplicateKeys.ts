/** JSON's four whitespace characters (RFC 8259), the only ones allowed between tokens. */
const JSON_WHITESPACE = new Set([" ", "\t", "\n", "\r"]);

interface Frame {
  /** Keys seen so far in an object; null for an array. */
  readonly keys: Set<string> | null;
  /** The current key (object) or index (array), for the path of a duplicate. */
  at: string | number;
}

/**
 * The path of the first object key that appears twice in the same object, or undefined. JSON.parse
 * silently keeps the last one, so `{"role":"staff","role":"admin"}` could mean different things to
 * different readers. `source` must already be valid JSON (parse it first): the scan relies on that.
 * Keys are compared after unescaping, so "a" and "\u0061" are the same key.
 */
export function findDuplicateKey(source: string): (string | number)[] | undefined {
  const stack: Frame[] = [];
  let i = 0;
  while (i < source.length) {
    const char = source[i];
    const top = stack[stack.length - 1];
    if (char === '"') {
      let end = i + 1;
      while (source[end] !== '"') end += source[end] === "\\" ? 2 : 1;
      const literal = source.slice(i, end + 1);
      i = end + 1;
      if (top?.keys) {
        let next = i;
        while (JSON_WHITESPACE.has(source[next] ?? "")) next++;
        // In valid JSON a string inside an object followed by a colon is a key, otherwise a value.
        if (source[next] === ":") {
          const key = JSON.parse(literal) as string;
          if (top.keys.has(key)) return [...stack.slice(0, -1).map((frame) => frame.at), key];
          top.keys.add(key);
          top.at = key;
        }
      }
      continue;
    }
    if (char === "{") stack.push({ keys: new Set(), at: "" });
    else if (char === "[") stack.push({ keys: null, at: 0 });
    else if (char === "}" || char === "]") stack.pop();
    else if (char === "," && top && top.keys === null && typeof top.at === "number") top.at += 1;
    i++;
  }
  return undefined;
}
