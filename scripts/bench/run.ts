/**
 * `npm run bench [-- area ...] [--quick]`: runs every scripts/bench/<area>.bench.ts in its own
 * child process (so peak-memory figures are per area), and writes experiments/bench/<area>.json
 * with the machine description, each figure, its target and whether it was met.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stableStringify } from "../../src/util/stable-json";
import type { BenchFn, BenchRecord } from "./types";

const ROOT = path.resolve(__dirname, "../..");
const OUT = path.join(ROOT, "experiments/bench");

async function runOne(area: string, quick: boolean): Promise<void> {
  const mod = (await import(path.join(__dirname, `${area}.bench.ts`))) as { bench: BenchFn };
  const records: BenchRecord[] = await mod.bench({ quick, log: (m) => process.stderr.write(`[bench ${area}] ${m}\n`) });
  const result = {
    area,
    quick,
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? "unknown", memory_gb: Math.round(os.totalmem() / 2 ** 30), node: process.version, platform: `${os.platform()} ${os.arch()}` },
    measured_at: new Date().toISOString().slice(0, 10),
    records: records.map((r) => ({ ...r, pass: r.target === undefined ? null : (r.direction ?? "max") === "max" ? r.value <= r.target : r.value >= r.target })),
  };
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, `${area}${quick ? ".quick" : ""}.json`), stableStringify(result, { digits: 4 }));
  for (const r of result.records) {
    process.stdout.write(`${area.padEnd(12)} ${r.name.padEnd(44)} ${String(Number(r.value.toPrecision(4))).padStart(10)} ${r.unit.padEnd(8)} ${r.target === undefined ? "" : `target ${(r.direction ?? "max") === "max" ? "≤" : "≥"} ${r.target} ${r.pass ? "ok" : "MISSED"}`}\n`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes("--quick");
  const child = args.includes("--child");
  const named = args.filter((a) => !a.startsWith("--"));
  if (child) return runOne(named[0], quick);
  const areas = named.length ? named : fs.readdirSync(__dirname).filter((f) => f.endsWith(".bench.ts")).map((f) => f.replace(/\.bench\.ts$/, "")).sort();
  let failed = false;
  for (const area of areas) {
    const r = spawnSync(process.execPath, [...process.execArgv, __filename, area, "--child", ...(quick ? ["--quick"] : [])], { stdio: "inherit" });
    if (r.status !== 0) failed = true;
  }
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
