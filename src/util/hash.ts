import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { stableStringify } from "./stable-json";

/** SHA-256 of a string or bytes, hex. */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** SHA-256 of a file, streamed in 4 MiB blocks so large inputs do not load into memory. */
export function sha256File(file: string): string {
  const h = createHash("sha256");
  const fd = fs.openSync(file, "r");
  const buf = Buffer.allocUnsafe(4 << 20);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest("hex");
}

/** Hash of a JSON-able value, independent of key order. */
export function hashValue(value: unknown): string {
  return sha256(stableStringify(value));
}
