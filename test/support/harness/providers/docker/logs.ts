/** The Engine API's multiplexed log stream (8-byte frame headers) as plain text. */
export function demuxLogs(raw: Buffer | string): string {
  if (typeof raw === "string") return raw;
  const parts: Buffer[] = [];
  let i = 0;
  // A TTY container sends raw bytes; frames start with stream type 0-2 and three zero bytes.
  while (i + 8 <= raw.length && (raw[i] ?? 255) <= 2 && raw[i + 1] === 0 && raw[i + 2] === 0 && raw[i + 3] === 0) {
    const size = raw.readUInt32BE(i + 4);
    parts.push(raw.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  if (i < raw.length) parts.push(raw.subarray(i));
  return Buffer.concat(parts).toString("utf8");
}
