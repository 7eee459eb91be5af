import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { zipSync } from "fflate";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { extractZip, fetchMovieLens, FETCHABLE_DATASETS, MOVIELENS_ARCHIVES } from "../src/data/fetch";
import { NtgError } from "../src/util/errors";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const md5 = (b: Uint8Array): string => createHash("md5").update(b).digest("hex");
const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");

// A tiny ml-latest-small look-alike: one deflated and one stored entry, plus a directory entry.
const RATINGS = enc(["userId,movieId,rating,timestamp", "1,1,4.0,964982703", "1,3,4.5,964981247", "2,1,3.0,964982224"].join("\n") + "\n");
const MOVIES = enc(['movieId,title,genres', '1,Toy Story (1995),Animation', '3,"Grumpier Old Men, The (1995)",Comedy|Romance'].join("\n") + "\n");
const ZIP = zipSync({
  "ml-latest-small/": new Uint8Array(0),
  "ml-latest-small/ratings.csv": RATINGS,
  "ml-latest-small/movies.csv": [MOVIES, { level: 0 }],
});
const GOOD = { md5: md5(ZIP), sha256: sha256(ZIP), bytes: ZIP.length, contentCheck: { file: "ratings.csv", sha256: sha256(RATINGS) } };

let server: http.Server;
let base: string;
let tmp: string;
let dest: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? "";
    if (url === "/ok/ml-latest-small.zip") {
      res.writeHead(200, { "content-type": "application/zip", "content-length": ZIP.length });
      res.end(ZIP);
    } else if (url === "/ok/ml-latest-small.zip.md5") {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`MD5 (ml-latest-small.zip) = ${md5(ZIP)}\n`);
    } else if (url === "/stall/ml-latest-small.zip") {
      // Headers, a few bytes, then silence: only the idle timeout can end this.
      res.writeHead(200, { "content-length": ZIP.length });
      res.write(ZIP.subarray(0, 10));
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-fetch-"));
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  dest = fs.mkdtempSync(path.join(tmp, "dest-"));
});

const opts = { timeoutMs: 5_000 };

describe("fetchMovieLens", () => {
  it("downloads, verifies and unpacks into <dest>/<name>, leaving no temps", async () => {
    const r = await fetchMovieLens("ml-latest-small", dest, { ...opts, baseUrl: `${base}/ok`, registry: { "ml-latest-small": GOOD } });
    expect(r.skipped).toBe(false);
    expect(r.path).toBe(path.join(dest, "ml-latest-small"));
    expect(r.url).toBe(`${base}/ok/ml-latest-small.zip`);
    expect(fs.readFileSync(path.join(r.path, "ratings.csv"))).toEqual(Buffer.from(RATINGS));
    expect(fs.readFileSync(path.join(r.path, "movies.csv"))).toEqual(Buffer.from(MOVIES));
    expect(r.verified.map((v) => `${v.file} ${v.check} ${v.source}`)).toEqual([
      "ml-latest-small.zip bytes pinned",
      "ml-latest-small.zip md5 pinned",
      "ml-latest-small.zip sha256 pinned",
      "ml-latest-small/ratings.csv sha256 pinned",
    ]);
    expect(fs.readdirSync(dest)).toEqual(["ml-latest-small"]);

    // Second call: already present, nothing downloaded (the URL would 404).
    const again = await fetchMovieLens("ml-latest-small", dest, { ...opts, baseUrl: `${base}/gone` });
    expect(again.skipped).toBe(true);
    expect(again.path).toBe(r.path);
  });

  it("with force, replaces an existing folder", async () => {
    const target = path.join(dest, "ml-latest-small");
    fs.mkdirSync(target);
    fs.writeFileSync(path.join(target, "ratings.csv"), "userId,movieId,rating,timestamp\n9,9,1.0,1\n");
    fs.writeFileSync(path.join(target, "stale.txt"), "old");
    const r = await fetchMovieLens("ml-latest-small", dest, { ...opts, force: true, baseUrl: `${base}/ok`, registry: { "ml-latest-small": GOOD } });
    expect(r.skipped).toBe(false);
    expect(fs.existsSync(path.join(target, "stale.txt"))).toBe(false);
    expect(fs.readFileSync(path.join(target, "ratings.csv"))).toEqual(Buffer.from(RATINGS));
    expect(fs.readdirSync(dest)).toEqual(["ml-latest-small"]);
  });

  it("falls back to the published .zip.md5 when nothing is pinned", async () => {
    const r = await fetchMovieLens("ml-latest-small", dest, { ...opts, baseUrl: `${base}/ok`, registry: { "ml-latest-small": {} } });
    expect(r.verified).toEqual([{ file: "ml-latest-small.zip", check: "md5", value: md5(ZIP), source: "published .md5" }]);
    expect(fs.existsSync(path.join(dest, "ml-latest-small", "ratings.csv"))).toBe(true);
  });

  it("a wrong checksum fails with expected vs got and leaves nothing behind", async () => {
    const wrong = "0".repeat(32);
    const err = await fetchMovieLens("ml-latest-small", dest, {
      ...opts,
      baseUrl: `${base}/ok`,
      registry: { "ml-latest-small": { md5: wrong } },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NtgError);
    expect((err as Error).message).toContain(`expected md5 ${wrong}, got ${md5(ZIP)}`);
    expect((err as Error).message).toContain("the download was deleted");
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it("a wrong size is reported before any hash", async () => {
    await expect(
      fetchMovieLens("ml-latest-small", dest, { ...opts, baseUrl: `${base}/ok`, registry: { "ml-latest-small": { ...GOOD, bytes: 12345 } } }),
    ).rejects.toThrow(`expected size 12345 bytes, got ${ZIP.length} bytes`);
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it("a wrong ratings-file checksum after unpacking installs nothing", async () => {
    const registry = { "ml-latest-small": { ...GOOD, contentCheck: { file: "ratings.csv", sha256: "f".repeat(64) } } };
    await expect(fetchMovieLens("ml-latest-small", dest, { ...opts, baseUrl: `${base}/ok`, registry })).rejects.toThrow(
      /ml-latest-small\/ratings\.csv failed verification: expected sha256 f{64}, got [0-9a-f]{64}; nothing was installed/,
    );
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it("an HTTP 404 names the URL and the manual route", async () => {
    const err = (await fetchMovieLens("ml-latest-small", dest, { ...opts, baseUrl: `${base}/missing`, registry: { "ml-latest-small": GOOD } }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(NtgError);
    expect(err.message).toContain(`could not download ${base}/missing/ml-latest-small.zip: HTTP 404`);
    expect(err.message).toContain("dataset.path");
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it("an unreachable server gives a clear 'could not download' error", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `http://127.0.0.1:${port}/ml-latest-small.zip`;
    const err = (await fetchMovieLens("ml-latest-small", dest, { ...opts, baseUrl: `http://127.0.0.1:${port}`, registry: { "ml-latest-small": GOOD } }).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(NtgError);
    expect(err.message).toMatch(new RegExp(`^could not download ${url.replace(/[.]/g, "\\.")}: connection refused \\(ECONNREFUSED\\)`));
    expect(err.message).toContain("set dataset.path in the config");
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it("a DNS failure says so (undici reports it as err.cause.code)", async () => {
    const offline = (async () => {
      throw new TypeError("fetch failed", { cause: Object.assign(new Error("getaddrinfo ENOTFOUND files.grouplens.org"), { code: "ENOTFOUND" }) });
    }) as unknown as typeof fetch;
    await expect(fetchMovieLens("ml-100k", dest, { ...opts, fetchImpl: offline })).rejects.toThrow(
      "could not download https://files.grouplens.org/datasets/movielens/ml-100k.zip: host not found (ENOTFOUND: no network, or DNS failed)",
    );
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it("a server that stops sending times out", async () => {
    const started = Date.now();
    await expect(
      fetchMovieLens("ml-latest-small", dest, { timeoutMs: 300, baseUrl: `${base}/stall`, registry: { "ml-latest-small": GOOD } }),
    ).rejects.toThrow(/could not download .*\/stall\/ml-latest-small\.zip: no data for 300 ms \(timed out\)/);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(fs.readdirSync(dest)).toEqual([]);
  });

  it("an unknown name lists the valid ones", async () => {
    await expect(fetchMovieLens("ml-5m", dest)).rejects.toThrow(
      "unknown dataset 'ml-5m'; ntg data fetch knows: ml-100k, ml-1m, ml-20m, ml-25m, ml-32m, ml-latest-small",
    );
  });

  it("refuses to skip over a folder that is not a dataset", async () => {
    fs.mkdirSync(path.join(dest, "ml-latest-small"));
    await expect(fetchMovieLens("ml-latest-small", dest, { ...opts, baseUrl: `${base}/ok` })).rejects.toThrow(/does not look like ml-latest-small; remove it or pass --force/);
  });
});

describe("registry", () => {
  it("pins every fetchable release with a checksum, and the brief's ratings-file hashes", () => {
    for (const name of FETCHABLE_DATASETS) {
      const e = MOVIELENS_ARCHIVES[name];
      expect(e.md5 ?? e.sha256, name).toBeTruthy();
      if (e.md5) expect(e.md5).toMatch(/^[0-9a-f]{32}$/);
      if (e.sha256) expect(e.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(MOVIELENS_ARCHIVES["ml-100k"].contentCheck).toEqual({ file: "u.data", sha256: "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490" });
    expect(MOVIELENS_ARCHIVES["ml-latest-small"].contentCheck?.sha256).toBe("aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646");
  });
});

describe("extractZip", () => {
  it("refuses entries that would escape the folder", () => {
    const evil = path.join(tmp, "evil.zip");
    fs.writeFileSync(evil, zipSync({ "../escape.txt": enc("x") }));
    const out = fs.mkdtempSync(path.join(tmp, "out-"));
    expect(() => extractZip(evil, out)).toThrow(/unsafe entry name '\.\.\/escape\.txt'/);
    expect(fs.existsSync(path.join(tmp, "escape.txt"))).toBe(false);
  });

  it("detects a corrupted entry by its CRC or inflate failure", () => {
    const data = enc("userId,movieId\n".repeat(200));
    const zip = zipSync({ "a.csv": [data, { level: 0 }] });
    const broken = Buffer.from(zip);
    // flip one byte of the stored payload (local header 30 bytes + name "a.csv")
    broken[30 + 5 + 3] ^= 0xff;
    const file = path.join(tmp, "broken.zip");
    fs.writeFileSync(file, broken);
    const out = fs.mkdtempSync(path.join(tmp, "out-"));
    expect(() => extractZip(file, out)).toThrow(/entry 'a\.csv' fails its CRC-32 check/);
  });

  it("rejects a file that is not a zip", () => {
    const file = path.join(tmp, "not.zip");
    fs.writeFileSync(file, "<html>502 Bad Gateway</html>");
    expect(() => extractZip(file, tmp)).toThrow(/not a readable zip archive \(no end-of-central-directory record\)/);
  });
});
