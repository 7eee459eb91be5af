/**
 * Splits the co-occurrence kernel's rows across worker threads. The incidence arrays live in
 * SharedArrayBuffers (read without copying); each worker returns its result (neighbour lists, or
 * per-item heaps for the half kernel) by transfer. The calling thread computes the first range
 * itself, then waits synchronously (Atomics.wait + receiveMessageOnPort), so `buildItemGraph`
 * stays a plain function. Ranges are balanced by estimated cost. The result cannot depend on the
 * split: full rows are independent, and heaps merge under a total order.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import type { Logger } from "../util/log";
import { computeHalfRows, computeRows, rowCosts, type HeapBlock, type KernelData, type KernelParams, type RowBlock } from "./cooccurrence";

/** A kernel result: full rows, or half-kernel heaps. */
export type KernelBlock = RowBlock | HeapBlock;

/** Message a graph worker posts when done. */
export type GraphWorkerReply = { ok: true; block: KernelBlock } | { ok: false; error: string };

/** Shared-memory slots per worker: [done flag, rows done (−1 until the worker starts)]. */
export const GRAPH_WORKER_SLOTS = 2;

/** What a worker is handed through workerData. */
export interface GraphWorkerJob {
  data: KernelData;
  params: KernelParams;
  /** run the half (symmetric) kernel */
  half: boolean;
  from: number;
  to: number;
  slot: number;
  shared: SharedArrayBuffer;
  port: MessagePort;
}

/** How the worker script loads: compiled JS next to this file, or the TypeScript source via tsx. */
function workerEntry(): { target: string; evalCode: boolean } | null {
  const js = path.join(__dirname, "worker.js");
  if (fs.existsSync(js)) return { target: js, evalCode: false };
  const ts = path.join(__dirname, "worker.ts");
  if (!fs.existsSync(ts)) return null;
  try {
    const tsx = require.resolve("tsx/cjs", { paths: [__dirname] });
    return { target: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(ts)});`, evalCode: true };
  } catch {
    return null;
  }
}

/** Runs one kernel variant on rows [from, to). */
export function runRange(data: KernelData, params: KernelParams, half: boolean, from: number, to: number, onRow?: (done: number) => void): KernelBlock {
  return half ? computeHalfRows(data, params, from, to, onRow) : computeRows(data, params, from, to, onRow);
}

/** Contiguous row ranges with roughly equal estimated kernel cost. */
export function balancedRanges(data: KernelData, parts: number, half: boolean): number[] {
  const cost = rowCosts(data, half);
  let total = 0;
  for (let i = 0; i < cost.length; i++) total += cost[i];
  const bounds = [0];
  let acc = 0;
  let next = 1;
  for (let i = 0; i < cost.length && next < parts; i++) {
    acc += cost[i];
    while (next < parts && acc >= (total * next) / parts) {
      bounds.push(i + 1);
      next++;
    }
  }
  while (bounds.length < parts) bounds.push(cost.length);
  bounds.push(cost.length);
  return bounds;
}

/** True when every array the kernel reads is backed by a SharedArrayBuffer. */
function isShared(d: KernelData): boolean {
  return [d.userPtr, d.userItems, d.itemPtr, d.itemUsers, d.itemUserPos].every((a) => a.buffer instanceof SharedArrayBuffer);
}

function toShared(a: Int32Array): Int32Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Int32Array(new SharedArrayBuffer(Math.max(4, a.byteLength)), 0, a.length);
  s.set(a);
  return s;
}

/**
 * Computes all rows on `threads` threads (this one included) and returns the blocks in row order
 * (full-row blocks, or half-kernel heap blocks when `half`).
 * Falls back to computing a range on this thread when its worker cannot start (no worker script,
 * or no sign of life within 60 s) or stalls for 5 minutes without progress.
 */
export function computeRowsParallel(data: KernelData, params: KernelParams, threads: number, half: boolean, log?: Logger): KernelBlock[] {
  const nItems = data.nItems;
  const entry = threads > 1 ? workerEntry() : null;
  if (!entry || nItems < 2) return [runRange(data, params, half, 0, nItems)];
  const shared = isShared(data)
    ? data
    : {
        ...data,
        userPtr: toShared(data.userPtr),
        userItems: toShared(data.userItems),
        itemPtr: toShared(data.itemPtr),
        itemUsers: toShared(data.itemUsers),
        itemUserPos: toShared(data.itemUserPos),
      };
  const bounds = balancedRanges(shared, threads, half);
  const nWorkers = threads - 1;
  const flags = new Int32Array(new SharedArrayBuffer(4 * GRAPH_WORKER_SLOTS * nWorkers));
  for (let w = 0; w < nWorkers; w++) flags[w * GRAPH_WORKER_SLOTS + 1] = -1;
  const workers: { worker: Worker; port: MessagePort }[] = [];
  const results: (KernelBlock | null)[] = new Array(threads).fill(null);
  try {
    for (let w = 0; w < nWorkers; w++) {
      const ch = new MessageChannel();
      const job: GraphWorkerJob = { data: shared, params, half, from: bounds[w + 1], to: bounds[w + 2], slot: w, shared: flags.buffer as SharedArrayBuffer, port: ch.port2 };
      const worker = new Worker(entry.target, { eval: entry.evalCode, workerData: job, transferList: [ch.port2] });
      workers.push({ worker, port: ch.port1 });
    }
    const t0 = Date.now();
    results[0] = runRange(shared, params, half, bounds[0], bounds[1]);
    const mainSec = (Date.now() - t0) / 1000;
    const START_MS = 60_000;
    const STALL_MS = 300_000;
    for (let w = 0; w < nWorkers; w++) {
      const base = w * GRAPH_WORKER_SLOTS;
      let seen = Atomics.load(flags, base + 1);
      let changed = Date.now();
      while (Atomics.load(flags, base) === 0) {
        Atomics.wait(flags, base, 0, 500);
        const now = Atomics.load(flags, base + 1);
        if (now !== seen) {
          seen = now;
          changed = Date.now();
        } else if (Atomics.load(flags, base) === 0 && Date.now() - changed > (seen < 0 ? START_MS : STALL_MS)) {
          break;
        }
      }
      if (Atomics.load(flags, base) === 1) {
        const msg = receiveMessageOnPort(workers[w].port);
        const reply = msg?.message as GraphWorkerReply | undefined;
        if (!reply) throw new Error(`graph worker ${w} finished without a result`);
        if (!reply.ok) throw new Error(`graph worker ${w} failed: ${reply.error}`);
        results[w + 1] = reply.block;
      } else {
        log?.warn("graph worker did not start or stalled; computing its rows on the main thread", { worker: w });
        void workers[w].worker.terminate();
        results[w + 1] = runRange(shared, params, half, bounds[w + 1], bounds[w + 2]);
      }
    }
    log?.debug("graph.parallel", { threads, main_range_s: mainSec, total_s: (Date.now() - t0) / 1000, bounds });
  } finally {
    for (const w of workers) {
      w.port.close();
      void w.worker.terminate();
    }
  }
  return results as KernelBlock[];
}
