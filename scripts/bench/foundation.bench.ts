/**
 * Foundation benchmarks (issue: foundation): generating ~20M synthetic events and ingesting +
 * splitting them (target under 90 s and 6 GB peak RSS on 2 cores), and loading 1M interactions
 * from Parquet into typed arrays (target under 0.5 s).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Duck } from "../../src/data/duck";
import { syntheticSource } from "../../src/data/events";
import { ingestDataset } from "../../src/data/ingest";
import { loadInteractionArrays } from "../../src/data/load";
import { generateWorld, validateWorldConfig, writeWorld } from "../../src/data/synthetic";
import { splitInteractions } from "../../src/split";
import { peakRssMb, timeIt, type BenchFn, type BenchRecord } from "./types";

export const bench: BenchFn = async ({ quick, log }) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-bench-foundation-"));
  const records: BenchRecord[] = [];
  try {
    const scale = quick ? 1 : 21;
    const cfg = validateWorldConfig({ seed: 7, scale });
    log(`generating world at scale ${scale}`);
    const [world, tGen] = await timeIt(() => generateWorld(cfg));
    const events = world.events.length;
    log(`${events.toLocaleString()} events in ${tGen.toFixed(1)} s`);
    const db = await Duck.open();
    const [, tWrite] = await timeIt(() => writeWorld(world, path.join(dir, "world"), db));
    log(`written in ${tWrite.toFixed(1)} s`);
    db.close();
    const db2 = await Duck.open();
    const [report, tIngest] = await timeIt(() =>
      ingestDataset(db2, syntheticSource(path.join(dir, "world")), { ratingRange: null, maxBadFraction: 0.01, maxFutureSeconds: 86400, minTs: 631152000, dropDuplicates: true }, path.join(dir, "processed")),
    );
    log(`ingested in ${tIngest.toFixed(1)} s (${report.kept.toLocaleString()} kept)`);
    const [meta, tSplit] = await timeIt(() =>
      splitInteractions(db2, { input: path.join(dir, "processed/interactions.parquet"), outDir: path.join(dir, "processed/splits"), strategy: "per_user_chronological", seed: 7 }),
    );
    log(`split in ${tSplit.toFixed(1)} s (train ${meta.parts.train.rows.toLocaleString()})`);
    const total = tGen + tWrite + tIngest + tSplit;
    const rss = peakRssMb();
    records.push(
      { name: "world.generate", value: tGen, unit: "s", details: { events, users: world.users.length, items: world.items.length } },
      { name: "world.write_parquet", value: tWrite, unit: "s" },
      { name: "ingest.validate_and_write", value: tIngest, unit: "s", details: { read: report.read, kept: report.kept } },
      { name: "split.per_user_chronological", value: tSplit, unit: "s" },
      { name: `generate+ingest+split.${quick ? "quick" : "20M"}`, value: total, unit: "s", target: quick ? undefined : 90, direction: "max", details: { events } },
      { name: "peak_rss.generate+ingest+split", value: rss, unit: "MB", target: quick ? undefined : 6144, direction: "max" },
    );
    // 1M interactions → typed arrays
    const oneM = path.join(dir, "one_million.parquet");
    await db2.copyToParquet(`SELECT * FROM read_parquet('${path.join(dir, "processed/interactions.parquet")}') ORDER BY user_id, ts, item_id, event_idx LIMIT 1000000`, oneM);
    db2.close();
    const db3 = await Duck.open();
    await loadInteractionArrays(db3, oneM); // warm-up: first query pays DuckDB's one-off setup
    const times: number[] = [];
    let n = 0;
    for (let i = 0; i < 5; i++) {
      const [arr, t] = await timeIt(() => loadInteractionArrays(db3, oneM));
      n = arr.length;
      times.push(t);
    }
    db3.close();
    times.sort((a, b) => a - b);
    records.push({ name: "load_typed_arrays.1M", value: times[2], unit: "s", target: 0.5, direction: "max", details: { rows: n, runs: times } });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return records;
};
