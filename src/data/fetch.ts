/**
 * `ntg data fetch <name>`: download an official MovieLens zip from GroupLens, verify it against
 * pinned checksums, unpack it and move the folder into place in one rename, so a reader never
 * sees a half-unpacked dataset and an interrupted run leaves only dot-named temps behind.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { Inflate } from "fflate";
import { tempPathFor } from "../util/atomic";
import { NtgError } from "../util/errors";
import { sha256File } from "../util/hash";
import { Logger, quietLogger } from "../util/log";
import { detectMovieLensFormat } from "./movielens";

/** Releases `ntg data fetch` can download. */
export type FetchableDataset = "ml-100k" | "ml-1m" | "ml-20m" | "ml-25m" | "ml-32m" | "ml-latest-small";

/** Names accepted by `ntg data fetch`. */
export const FETCHABLE_DATASETS: readonly FetchableDataset[] = ["ml-100k", "ml-1m", "ml-20m", "ml-25m", "ml-32m", "ml-latest-small"];

/** Where GroupLens serves the zips (and a `<name>.zip.md5` next to each). */
export const GROUPLENS_BASE_URL = "https://files.grouplens.org/datasets/movielens";

/** What a downloaded archive must match. With neither `md5` nor `sha256`, the published `.zip.md5` is used. */
export interface ArchiveChecksum {
  /** MD5 of the zip, as GroupLens publishes it in `<name>.zip.md5` */
  md5?: string;
  /** SHA-256 of the zip */
  sha256?: string;
  /** size of the zip in bytes */
  bytes?: number;
  /** a file of the unpacked folder (relative to it) and its SHA-256, checked after unpacking */
  contentCheck?: { file: string; sha256: string };
}

/**
 * Pinned checksums of the official zips. The MD5s are the ones GroupLens publishes next to each
 * zip; sizes and SHA-256s are the values TensorFlow Datasets pins for the same URLs, and each
 * agrees with other independent public loaders that pin these archives. For ml-latest-small no
 * published MD5 turned up, so it is pinned by SHA-256 and size only. ml-latest-small is a
 * "development" release GroupLens may regenerate; if it ever does, the pin fails loudly and the
 * table needs the new value rather than a silent re-download of different data.
 */
export const MOVIELENS_ARCHIVES: Readonly<Record<FetchableDataset, ArchiveChecksum>> = {
  "ml-100k": {
    md5: "0e33842e24a9c977be4e0107933c0723",
    sha256: "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
    bytes: 4_924_029,
    contentCheck: { file: "u.data", sha256: "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490" },
  },
  "ml-1m": {
    md5: "c4d9eecfca2ab87c1945afe126590906",
    sha256: "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
    bytes: 5_917_549,
  },
  "ml-20m": {
    md5: "cd245b17a1ae2cc31bb14903e1204af3",
    sha256: "96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
    bytes: 198_702_078,
  },
  "ml-25m": {
    md5: "6b51fb2759a8657d3bfcbfc42b592ada",
    sha256: "8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
    bytes: 261_978_986,
  },
  "ml-32m": {
    md5: "d472be332d4daa821edc399621853b57",
    sha256: "e4a68655d7386b8f95f2f2424b2ff975dfdd15ffd59e0d864a14dca43e99d6ee",
    bytes: 238_950_008,
  },
  "ml-latest-small": {
    sha256: "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
    bytes: 978_202,
    contentCheck: { file: "ratings.csv", sha256: "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646" },
  },
};

export interface FetchOptions {
  /** default `GROUPLENS_BASE_URL` */
  baseUrl?: string;
  logger?: Logger;
  /** default the global `fetch` */
  fetchImpl?: typeof fetch;
  /** give up when no bytes arrive for this long (default 60 s) */
  timeoutMs?: number;
  /** download again and replace a folder that is already there */
  force?: boolean;
  /** replaces the pinned entry per name (tests, or a mirror with other archives) */
  registry?: Partial<Record<FetchableDataset, ArchiveChecksum>>;
}

/** One check that passed. */
export interface Verification {
  /** file checked, e.g. "ml-100k.zip" or "ml-100k/u.data" */
  file: string;
  check: "bytes" | "md5" | "sha256";
  value: string;
  /** where the expected value came from */
  source: "pinned" | "published .md5";
}

export interface FetchResult {
  name: FetchableDataset;
  /** the unpacked dataset folder */
  path: string;
  url: string;
  /** true when the folder was already there and nothing was downloaded */
  skipped: boolean;
  verified: Verification[];
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Downloads `<baseUrl>/<name>.zip` into `destDir`, verifies size and checksums, unpacks it and
 * renames the folder to `destDir/<name>`. Skips the download when that folder already holds a
 * MovieLens dataset, unless `force`. Failures are `NtgError`s naming the URL or file; nothing
 * partial is left under `destDir/<name>`.
 */
export async function fetchMovieLens(name: string, destDir: string, opts: FetchOptions = {}): Promise<FetchResult> {
  if (!(FETCHABLE_DATASETS as readonly string[]).includes(name)) {
    throw new NtgError(`unknown dataset '${name}'; ntg data fetch knows: ${FETCHABLE_DATASETS.join(", ")}`);
  }
  const dataset = name as FetchableDataset;
  const log = (opts.logger ?? quietLogger).child({ dataset });
  const baseUrl = (opts.baseUrl ?? GROUPLENS_BASE_URL).replace(/\/+$/, "");
  const url = `${baseUrl}/${dataset}.zip`;
  const root = path.resolve(destDir);
  const target = path.join(root, dataset);

  if (fs.existsSync(target) && !opts.force) {
    try {
      detectMovieLensFormat(target);
    } catch {
      throw new NtgError(`${target} already exists but does not look like ${dataset}; remove it or pass --force to download again`);
    }
    log.info("fetch.skip", { path: target, reason: "already present (use --force to download again)" });
    return { name: dataset, path: target, url, skipped: true, verified: [] };
  }

  fs.mkdirSync(root, { recursive: true });
  removeOwnTemps(root, dataset);
  const fetchImpl = opts.fetchImpl ?? globalThis.fetch;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const expected: ArchiveChecksum = opts.registry?.[dataset] ?? MOVIELENS_ARCHIVES[dataset];
  const zipName = `${dataset}.zip`;
  const verified: Verification[] = [];

  let md5Source: Verification["source"] = "pinned";
  let expectedMd5 = expected.md5?.toLowerCase();
  if (!expectedMd5 && !expected.sha256) {
    // Nothing pinned: fall back to the checksum GroupLens publishes beside the zip.
    expectedMd5 = await fetchPublishedMd5(`${url}.md5`, fetchImpl, timeoutMs);
    md5Source = "published .md5";
  }

  const zipTmp = tempPathFor(path.join(root, zipName));
  const unpackTmp = tempPathFor(target);
  try {
    log.info("fetch.download", { url });
    const got = await download(url, zipTmp, { fetchImpl, timeoutMs, log, expectedBytes: expected.bytes, label: `downloading ${zipName}` });

    const mismatch = (check: string, want: string, have: string): NtgError => {
      fs.rmSync(zipTmp, { force: true });
      return new NtgError(
        `${zipName} downloaded from ${url} failed verification: expected ${check} ${want}, got ${have}; the download was deleted. ` +
          `Try again; if it keeps failing, the file on the server differs from the one NTG knows.`,
      );
    };
    if (expected.bytes !== undefined) {
      if (got.bytes !== expected.bytes) throw mismatch("size", `${expected.bytes} bytes`, `${got.bytes} bytes`);
      verified.push({ file: zipName, check: "bytes", value: String(got.bytes), source: "pinned" });
    }
    if (expectedMd5) {
      if (got.md5 !== expectedMd5) throw mismatch("md5", expectedMd5, got.md5);
      verified.push({ file: zipName, check: "md5", value: got.md5, source: md5Source });
    }
    if (expected.sha256) {
      if (got.sha256 !== expected.sha256.toLowerCase()) throw mismatch("sha256", expected.sha256.toLowerCase(), got.sha256);
      verified.push({ file: zipName, check: "sha256", value: got.sha256, source: "pinned" });
    }

    log.info("fetch.unpack", { file: zipName });
    fs.mkdirSync(unpackTmp);
    const progress = log.progress(`unpacking ${zipName}`, fs.statSync(zipTmp).size);
    extractZip(zipTmp, unpackTmp, (n) => progress.tick(n));
    progress.finish();
    fs.rmSync(zipTmp, { force: true });

    // The official zips hold one top-level folder named like the release.
    const top = fs.readdirSync(unpackTmp, { withFileTypes: true });
    const unpacked = top.length === 1 && top[0].isDirectory() ? path.join(unpackTmp, top[0].name) : unpackTmp;

    if (expected.contentCheck) {
      const file = path.join(unpacked, expected.contentCheck.file);
      const rel = `${dataset}/${expected.contentCheck.file}`;
      if (!fs.existsSync(file)) throw new NtgError(`${zipName} from ${url} does not contain ${expected.contentCheck.file}; nothing was installed`);
      const sha = sha256File(file);
      if (sha !== expected.contentCheck.sha256.toLowerCase()) {
        throw new NtgError(`${rel} failed verification: expected sha256 ${expected.contentCheck.sha256.toLowerCase()}, got ${sha}; nothing was installed`);
      }
      verified.push({ file: rel, check: "sha256", value: sha, source: "pinned" });
    }
    try {
      detectMovieLensFormat(unpacked);
    } catch (err) {
      throw new NtgError(`${zipName} from ${url} did not unpack to a MovieLens folder: ${(err as Error).message}`);
    }

    installFolder(unpacked, target);
    log.info("fetch.done", { path: target, verified: verified.map((v) => `${v.file} ${v.check}`).join(", ") });
    return { name: dataset, path: target, url, skipped: false, verified };
  } finally {
    fs.rmSync(zipTmp, { force: true });
    fs.rmSync(unpackTmp, { recursive: true, force: true });
  }
}

/** Renames `from` to `to`; an existing `to` (with --force) is moved aside first and removed after. */
function installFolder(from: string, to: string): void {
  if (!fs.existsSync(to)) {
    fs.renameSync(from, to);
    return;
  }
  const aside = tempPathFor(to);
  fs.renameSync(to, aside);
  try {
    fs.renameSync(from, to);
  } catch (err) {
    fs.renameSync(aside, to);
    throw err;
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

/** Removes temps a killed fetch of this dataset left behind (`.ml-100k.zip.tmp-…`, `.ml-100k.tmp-…`). */
function removeOwnTemps(dir: string, dataset: string): void {
  for (const entry of fs.readdirSync(dir)) {
    if (entry.startsWith(`.${dataset}.tmp-`) || entry.startsWith(`.${dataset}.zip.tmp-`)) {
      fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
    }
  }
}

const MANUAL_HINT =
  "Check the network connection, or download the zip yourself, unzip it and set dataset.path in the config to the unpacked folder.";

/** Turns a fetch failure into a sentence: undici reports the real cause in `err.cause.code`. */
function downloadError(url: string, err: unknown, timeoutMs: number, timedOut: boolean): NtgError {
  if (err instanceof NtgError) return err;
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const code = e?.cause?.code ?? e?.code;
  let reason: string;
  if (timedOut) reason = `no data for ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1000)} s`} (timed out)`;
  else if (code === "ENOTFOUND" || code === "EAI_AGAIN") reason = `host not found (${code}: no network, or DNS failed)`;
  else if (code === "ECONNREFUSED") reason = "connection refused (ECONNREFUSED)";
  else if (code === "ECONNRESET" || code === "UND_ERR_SOCKET") reason = `connection dropped (${code})`;
  else if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") reason = `connection timed out (${code})`;
  else reason = code ? `${e?.cause?.message ?? e?.message ?? "network error"} (${code})` : (e?.cause?.message ?? e?.message ?? String(err));
  return new NtgError(`could not download ${url}: ${reason}. ${MANUAL_HINT}`);
}

interface Downloaded {
  bytes: number;
  md5: string;
  sha256: string;
}

/** Streams `url` to `file`, hashing as it goes; the timeout restarts whenever bytes arrive. */
async function download(
  url: string,
  file: string,
  o: { fetchImpl: typeof fetch; timeoutMs: number; log: Logger; expectedBytes?: number; label: string },
): Promise<Downloaded> {
  const ac = new AbortController();
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, o.timeoutMs);
  };
  arm();
  const fd = fs.openSync(file, "w");
  try {
    let res: Response;
    try {
      res = await o.fetchImpl(url, { signal: ac.signal, redirect: "follow" });
    } catch (err) {
      throw downloadError(url, err, o.timeoutMs, timedOut);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw new NtgError(`could not download ${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}. ${MANUAL_HINT}`);
    }
    const total = Number(res.headers.get("content-length")) || o.expectedBytes || 0;
    const progress = o.log.progress(o.label, total);
    const md5 = createHash("md5");
    const sha = createHash("sha256");
    let bytes = 0;
    const reader = res.body.getReader();
    try {
      for (;;) {
        arm();
        const { done, value } = await reader.read();
        if (done) break;
        fs.writeSync(fd, value);
        md5.update(value);
        sha.update(value);
        bytes += value.length;
        progress.tick(value.length);
      }
    } catch (err) {
      throw downloadError(url, err, o.timeoutMs, timedOut);
    }
    progress.finish();
    fs.fsyncSync(fd);
    return { bytes, md5: md5.digest("hex"), sha256: sha.digest("hex") };
  } finally {
    clearTimeout(timer);
    fs.closeSync(fd);
  }
}

/** Fetches GroupLens' `<name>.zip.md5` ("MD5 (ml-25m.zip) = …" or "… ml-25m.zip") and returns the digest. */
async function fetchPublishedMd5(url: string, fetchImpl: typeof fetch, timeoutMs: number): Promise<string> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, timeoutMs);
  try {
    let res: Response;
    let text: string;
    try {
      res = await fetchImpl(url, { signal: ac.signal, redirect: "follow" });
      if (!res.ok) {
        await res.body?.cancel().catch(() => undefined);
        throw new NtgError(`could not download the published checksum ${url}: HTTP ${res.status}. ${MANUAL_HINT}`);
      }
      text = await res.text();
    } catch (err) {
      throw downloadError(url, err, timeoutMs, timedOut);
    }
    const m = /\b([0-9a-fA-F]{32})\b/.exec(text);
    if (!m) throw new NtgError(`the published checksum ${url} holds no MD5 digest`);
    return m[1].toLowerCase();
  } finally {
    clearTimeout(timer);
  }
}

// ---- ZIP extraction ---------------------------------------------------------------------------
// Reads the central directory (it has every entry's sizes even when the local headers defer them
// to data descriptors) and inflates each entry from disk in 1 MiB slices through fflate's
// streaming Inflate, so memory stays flat whatever the archive size.

const SIG_EOCD = 0x06054b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const SLICE = 1 << 20;

/**
 * Unpacks every entry of `zipFile` under `outDir` (which must exist), checking each entry's size
 * and CRC-32. Entry names that would escape `outDir` are refused. Returns the files written.
 */
export function extractZip(zipFile: string, outDir: string, onCompressedBytes?: (n: number) => void): string[] {
  const base = path.resolve(outDir);
  const fd = fs.openSync(zipFile, "r");
  const written: string[] = [];
  try {
    const size = fs.fstatSync(fd).size;
    const bad = (why: string): NtgError => new NtgError(`${zipFile}: not a readable zip archive (${why})`);
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = readAt(fd, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === SIG_EOCD) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw bad("no end-of-central-directory record");
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) throw bad("ZIP64 archives are not supported");
    if (cdOffset + cdSize > size) throw bad("central directory lies outside the file");
    const cd = readAt(fd, cdOffset, cdSize);

    let p = 0;
    for (let k = 0; k < count; k++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) throw bad(`central directory entry ${k} is damaged`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const crc = cd.readUInt32LE(p + 16);
      const csize = cd.readUInt32LE(p + 20);
      const usize = cd.readUInt32LE(p + 24);
      const nlen = cd.readUInt16LE(p + 28);
      const xlen = cd.readUInt16LE(p + 30);
      const clen = cd.readUInt16LE(p + 32);
      const local = cd.readUInt32LE(p + 42);
      const rawName = cd.subarray(p + 46, p + 46 + nlen).toString(flags & 0x800 ? "utf8" : "latin1");
      p += 46 + nlen + xlen + clen;

      const name = rawName.replace(/\\/g, "/");
      // macOS resource forks carry no data.
      if (name.startsWith("__MACOSX/")) continue;
      if (name.startsWith("/") || /^[A-Za-z]:/.test(name) || name.split("/").includes("..")) throw bad(`unsafe entry name '${rawName}'`);
      const out = path.resolve(base, name);
      if (out !== base && !out.startsWith(base + path.sep)) throw bad(`unsafe entry name '${rawName}'`);
      if (name.endsWith("/")) {
        fs.mkdirSync(out, { recursive: true });
        continue;
      }
      if (flags & 1) throw bad(`entry '${name}' is encrypted`);
      if (method !== 0 && method !== 8) throw bad(`entry '${name}' uses unsupported compression method ${method}`);
      if (csize === 0xffffffff || usize === 0xffffffff) throw bad("ZIP64 entries are not supported");

      const lh = readAt(fd, local, 30);
      if (lh.readUInt32LE(0) !== SIG_LOCAL) throw bad(`local header of '${name}' is damaged`);
      const dataStart = local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28);
      if (dataStart + csize > size) throw bad(`entry '${name}' runs past the end of the file`);

      fs.mkdirSync(path.dirname(out), { recursive: true });
      const ofd = fs.openSync(out, "w");
      let outBytes = 0;
      let outCrc = 0;
      const sink = (chunk: Uint8Array): void => {
        if (chunk.length === 0) return;
        fs.writeSync(ofd, chunk);
        outCrc = crc32(chunk, outCrc);
        outBytes += chunk.length;
      };
      try {
        const inflater = method === 8 ? new Inflate((chunk) => sink(chunk)) : null;
        let done = 0;
        while (done < csize) {
          const n = Math.min(SLICE, csize - done);
          const slice = readAt(fd, dataStart + done, n);
          done += n;
          if (inflater) {
            try {
              inflater.push(slice, done === csize);
            } catch (err) {
              throw bad(`entry '${name}' does not inflate: ${(err as Error).message}`);
            }
          } else {
            sink(slice);
          }
          onCompressedBytes?.(n);
        }
      } finally {
        fs.closeSync(ofd);
      }
      if (outBytes !== usize) throw bad(`entry '${name}' unpacked to ${outBytes} bytes, expected ${usize}`);
      if (outCrc >>> 0 !== crc >>> 0) throw bad(`entry '${name}' fails its CRC-32 check`);
      written.push(out);
    }
    return written;
  } finally {
    fs.closeSync(fd);
  }
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n <= 0) throw new NtgError(`unexpected end of file while reading the zip archive`);
    got += n;
  }
  return buf;
}
