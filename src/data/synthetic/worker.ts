/**
 * Worker-thread entry for `generateWorld`: rebuilds the (deterministic) catalogue and population
 * from the config, simulates its user range, and hands the typed arrays back without copying.
 */
import { isMainThread, workerData, type MessagePort } from "node:worker_threads";
import type { WorldConfig } from "./config";
import { buildWorldBase, rangeBuffers, simulateRange, WORKER_SLOTS, type WorkerReply } from "./simulate";

interface Job {
  config: WorldConfig;
  from: number;
  to: number;
  slot: number;
  shared: SharedArrayBuffer;
  port: MessagePort;
}

if (!isMainThread && workerData && (workerData as Job).port) {
  const job = workerData as Job;
  const shared = new Int32Array(job.shared);
  const base = WORKER_SLOTS * job.slot;
  let reply: WorkerReply;
  let transfer: ArrayBuffer[] = [];
  Atomics.store(shared, base + 1, 0);
  try {
    const { model } = buildWorldBase(job.config);
    const result = simulateRange(model, job.from, job.to, (done) => Atomics.store(shared, base + 1, done));
    reply = { ok: true, result };
    transfer = rangeBuffers(result);
  } catch (e) {
    reply = { ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  job.port.postMessage(reply, transfer);
  Atomics.store(shared, base, 1);
  Atomics.notify(shared, base);
}
