/**
 * Worker-thread entry of the taste kernel pool (see pool.ts): loads every kernel module, then
 * serves jobs by claiming chunks from the job's shared counter until none are left.
 */
import { isMainThread, parentPort, workerData, type MessagePort } from "node:worker_threads";
import "./kernels";
import { CTRL_COUNT, CTRL_DONE, CTRL_ERROR, CTRL_NEXT, kernelByName, type JobMessage } from "./pool";

if (!isMainThread && parentPort && workerData && (workerData as { port?: MessagePort }).port) {
  const errors = (workerData as { port: MessagePort }).port;
  parentPort.on("message", (msg: JobMessage | { ping: MessagePort }) => {
    if ("ping" in msg) {
      msg.ping.postMessage("pong");
      msg.ping.close();
      return;
    }
    const ctrl = new Int32Array(msg.ctrl);
    const n = ctrl[CTRL_COUNT];
    const fn = kernelByName(msg.kernel);
    for (;;) {
      // A job that finished before this worker got to it finds the counter exhausted: no-op.
      const c = Atomics.add(ctrl, CTRL_NEXT, 1);
      if (c >= n) break;
      try {
        if (!fn) throw new Error(`unknown kernel '${msg.kernel}'`);
        fn(msg.args, c);
      } catch (e) {
        // report before counting the chunk done, so the caller finds the message when it wakes
        errors.postMessage({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        Atomics.store(ctrl, CTRL_ERROR, 1);
      }
      Atomics.add(ctrl, CTRL_DONE, 1);
      Atomics.notify(ctrl, CTRL_DONE);
    }
  });
}
