import * as fs from "node:fs";
import * as path from "node:path";

let counter = 0;

/** A temporary sibling path for `target`: same directory, so the final rename is atomic. */
export function tempPathFor(target: string): string {
  counter += 1;
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${counter}`);
}

/** Writes a file atomically: temp file in the same directory, fsync, then rename. */
export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const fd = fs.openSync(tmp, "w");
  try {
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    fs.writeSync(fd, bytes);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, target);
}

/**
 * Runs `produce(tmpPath)` which must write the artifact at tmpPath, then renames it into place.
 * If `produce` throws (or the process dies), the target is untouched and the temp is removed.
 */
export async function produceAtomic<T>(target: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  try {
    const out = await produce(tmp);
    fs.renameSync(tmp, target);
    return out;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Removes stale temp files left by a killed run (names start with '.' and contain '.tmp-'). */
export function cleanStaleTemps(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let removed = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.name.startsWith(".") && entry.name.includes(".tmp-")) {
      fs.rmSync(p, { recursive: true, force: true });
      removed += 1;
    } else if (entry.isDirectory()) {
      removed += cleanStaleTemps(p);
    }
  }
  return removed;
}
