/**
 * Worker-thread entry for the co-occurrence kernel: computes its row range over the shared
 * incidence arrays and transfers the neighbour lists back.
 */
import { isMainThread, workerData } from "node:worker_threads";
import { GRAPH_WORKER_SLOTS, runRange, type GraphWorkerJob, type GraphWorkerReply, type KernelBlock } from "./parallel";

if (!isMainThread && workerData && (workerData as GraphWorkerJob).port) {
  const job = workerData as GraphWorkerJob;
  const flags = new Int32Array(job.shared);
  const base = GRAPH_WORKER_SLOTS * job.slot;
  let reply: GraphWorkerReply;
  let transfer: ArrayBuffer[] = [];
  Atomics.store(flags, base + 1, 0);
  try {
    // the progress slot doubles as a heartbeat for the main thread's stall check
    const block: KernelBlock = runRange(job.data, job.params, job.half, job.from, job.to, (done) => Atomics.store(flags, base + 1, done));
    reply = { ok: true, block };
    // move the result arrays instead of copying them
    transfer = Object.values(block)
      .filter((v): v is Int32Array | Float32Array => ArrayBuffer.isView(v))
      .map((v) => v.buffer as ArrayBuffer);
  } catch (e) {
    reply = { ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  job.port.postMessage(reply, transfer);
  Atomics.store(flags, base, 1);
  Atomics.notify(flags, base);
}
