/**
 * A synchronous fork-join pool for the taste kernels: the calling thread and `threads − 1`
 * worker threads pull chunk indices from a shared atomic counter and run the same named kernel
 * on SharedArrayBuffer-backed typed arrays.
 *
 * Why synchronous: `Recommender.recommend` is a plain function, so the caller blocks on
 * `Atomics.wait` instead of awaiting. Why the caller also works: a worker that is still booting
 * (or failed to boot) simply never claims a chunk, so a job can never stall on it — the first jobs
 * of a process just run single-threaded. Results are identical whichever thread runs a chunk,
 * because every kernel writes a disjoint output region that depends only on (args, chunk).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";

/** A kernel processes chunk `chunk` of a job; it must write only that chunk's output region. */
export type KernelFn<A> = (args: A, chunk: number) => void;

/** A named kernel: the name is how worker threads find the same function. */
export interface Kernel<A> {
  readonly name: string;
  readonly fn: KernelFn<A>;
}

const KERNELS = new Map<string, KernelFn<never>>();

/** Registers a kernel under a unique name (module load time, in every thread). */
export function defineKernel<A>(name: string, fn: KernelFn<A>): Kernel<A> {
  const prev = KERNELS.get(name);
  if (prev && prev !== (fn as unknown)) throw new Error(`kernel '${name}' defined twice`);
  KERNELS.set(name, fn as KernelFn<never>);
  return { name, fn };
}

/** The kernel registered under `name` (worker side). */
export function kernelByName(name: string): KernelFn<unknown> | undefined {
  return KERNELS.get(name) as KernelFn<unknown> | undefined;
}

/** Control word: the next unclaimed chunk (claimed with Atomics.add). */
export const CTRL_NEXT = 0;
/** Control word: chunks finished (the caller waits on it). */
export const CTRL_DONE = 1;
/** Control word: set to 1 when a worker's chunk threw (its message is on the worker's port). */
export const CTRL_ERROR = 2;
/** Control word: the job's chunk count. */
export const CTRL_COUNT = 3;
const CTRL_WORDS = 4;

/** What the pool posts to a worker for each job. */
export interface JobMessage {
  kernel: string;
  args: unknown;
  ctrl: SharedArrayBuffer;
}

let configuredThreads: number | null = null;

function defaultThreads(): number {
  const env = Number(process.env.NTG_THREADS);
  if (Number.isInteger(env) && env >= 1) return env;
  return Math.max(1, typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length);
}

/** Threads (including the caller) that parallel kernels use: NTG_THREADS, else the core count. */
export function getThreads(): number {
  return configuredThreads ?? defaultThreads();
}

/** Sets the thread count for later jobs (1 = everything on the calling thread). */
export function setThreads(n: number | null): void {
  if (n !== null && (!Number.isInteger(n) || n < 1)) throw new RangeError(`threads must be a positive integer, got ${n}`);
  // extra live workers are kept (idle) rather than torn down: runKernel only posts to as many as needed
  configuredThreads = n;
}

interface PoolWorker {
  worker: Worker;
  port: MessagePort;
  ready: Promise<boolean>;
}

interface Pool {
  workers: PoolWorker[];
}

let pool: Pool | null = null;

/** How the worker script can be loaded: compiled JS next to this file, or the TS source via tsx. */
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

function ensurePool(): Pool {
  const want = getThreads() - 1;
  if (pool && pool.workers.length >= want) return pool;
  if (!pool) pool = { workers: [] };
  const entry = workerEntry();
  if (!entry) return pool;
  while (pool.workers.length < want) {
    const ch = new MessageChannel();
    const worker = new Worker(entry.target, { eval: entry.evalCode, workerData: { port: ch.port2 }, transferList: [ch.port2] });
    // Workers must never keep the process alive: they only serve jobs the caller waits for.
    worker.unref();
    ch.port1.unref();
    const ready = new Promise<boolean>((resolve) => {
      worker.once("online", () => resolve(true));
      worker.once("error", () => resolve(false));
      worker.once("exit", () => resolve(false));
    });
    // A worker that dies is dropped; later jobs just run with fewer threads.
    worker.on("error", () => dropWorker(worker));
    worker.on("exit", () => dropWorker(worker));
    pool.workers.push({ worker, port: ch.port1, ready });
  }
  return pool;
}

function dropWorker(w: Worker): void {
  if (!pool) return;
  pool.workers = pool.workers.filter((p) => p.worker !== w);
}

/**
 * Starts the worker threads now and resolves when they have booted (benchmarks call this so the
 * first timed job is not a single-threaded one). Returns the number of live workers.
 */
export async function warmPool(): Promise<number> {
  if (getThreads() <= 1) return 0;
  const p = ensurePool();
  // unref'd workers would let the process exit while we wait for them: hold a ref meanwhile
  for (const w of p.workers) w.worker.ref();
  const ok = await Promise.all(p.workers.map((w) => w.ready));
  // 'online' fires before the kernel modules are loaded: a no-op round-trip proves readiness.
  // A worker that cannot load them exits (or is given up on after 60 s); jobs never wait for it.
  await Promise.all(
    p.workers.map(
      (w, i) =>
        ok[i] &&
        new Promise<void>((resolve) => {
          const ch = new MessageChannel();
          const done = (): void => {
            clearTimeout(timer);
            w.worker.off("exit", done);
            ch.port1.close();
            resolve();
          };
          const timer = setTimeout(done, 60_000);
          ch.port1.once("message", done);
          w.worker.once("exit", done);
          w.worker.postMessage({ ping: ch.port2 }, [ch.port2]);
        }),
    ),
  );
  for (const w of p.workers) w.worker.unref();
  return p.workers.length;
}

/** Terminates the worker threads (tests; the pool restarts on demand). */
export function shutdownPool(): void {
  if (!pool) return;
  for (const w of pool.workers) {
    w.port.close();
    void w.worker.terminate();
  }
  pool = null;
}

function assertShared(args: unknown): void {
  if (!args || typeof args !== "object") return;
  for (const [k, v] of Object.entries(args as Record<string, unknown>)) {
    if (ArrayBuffer.isView(v) && !(v.buffer instanceof SharedArrayBuffer)) {
      throw new Error(`parallel kernel argument '${k}' is not backed by a SharedArrayBuffer`);
    }
  }
}

/** Cumulative counts of parallel jobs: how many chunks ran, and how many on the calling thread. */
const stats = { jobs: 0, chunks: 0, callerChunks: 0 };

/** A snapshot of the cumulative parallel-job counters (tests check workers really took chunks). */
export function poolStats(): { jobs: number; chunks: number; callerChunks: number } {
  return { ...stats };
}

/** Options for `runKernel`. */
export interface RunOptions {
  /** false: run every chunk on the calling thread (small jobs, where messaging costs more) */
  parallel?: boolean;
}

/**
 * Runs chunks 0..nChunks−1 of `kernel` and returns when all are done. With `parallel`, typed-array
 * arguments must live on SharedArrayBuffers (workers see the same memory; outputs would otherwise
 * be written to copies). Rethrows the first kernel error from any thread.
 */
export function runKernel<A extends object>(kernel: Kernel<A>, args: A, nChunks: number, opts: RunOptions = {}): void {
  if (nChunks <= 0) return;
  const parallel = (opts.parallel ?? true) && nChunks > 1 && getThreads() > 1;
  if (!parallel) {
    for (let c = 0; c < nChunks; c++) kernel.fn(args, c);
    return;
  }
  assertShared(args);
  const p = ensurePool();
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_WORDS));
  ctrl[CTRL_COUNT] = nChunks;
  const msg: JobMessage = { kernel: kernel.name, args, ctrl: ctrl.buffer as SharedArrayBuffer };
  const helpers = p.workers.slice(0, getThreads() - 1);
  for (const w of helpers) w.worker.postMessage(msg);
  let firstError: unknown = null;
  stats.jobs += 1;
  stats.chunks += nChunks;
  for (;;) {
    const c = Atomics.add(ctrl, CTRL_NEXT, 1);
    if (c >= nChunks) break;
    stats.callerChunks += 1;
    try {
      kernel.fn(args, c);
    } catch (e) {
      if (firstError === null) firstError = e;
      // claim the rest so workers stop early; they are counted as done below
      const rest = Atomics.exchange(ctrl, CTRL_NEXT, nChunks);
      if (rest < nChunks) Atomics.add(ctrl, CTRL_DONE, nChunks - rest);
    }
    Atomics.add(ctrl, CTRL_DONE, 1);
  }
  for (;;) {
    const d = Atomics.load(ctrl, CTRL_DONE);
    if (d >= nChunks) break;
    Atomics.wait(ctrl, CTRL_DONE, d, 1000);
  }
  if (firstError !== null) throw firstError;
  if (Atomics.load(ctrl, CTRL_ERROR) !== 0) {
    for (const w of helpers) {
      for (let m = receiveMessageOnPort(w.port); m; m = receiveMessageOnPort(w.port)) {
        const err = (m.message as { error?: string }).error;
        if (err) throw new Error(`kernel '${kernel.name}' failed in a worker thread: ${err}`);
      }
    }
    throw new Error(`kernel '${kernel.name}' failed in a worker thread`);
  }
}

/** Chunk `c` of `n` items split into `chunks` near-equal contiguous ranges: [from, to). */
export function chunkRange(n: number, chunks: number, c: number): [number, number] {
  return [Math.floor((n * c) / chunks), Math.floor((n * (c + 1)) / chunks)];
}

/** A Float64Array on a SharedArrayBuffer (zeroed), optionally copied from `src`. */
export function sharedF64(n: number, src?: ArrayLike<number>): Float64Array {
  const a = new Float64Array(new SharedArrayBuffer(Math.max(0, n) * 8));
  if (src) a.set(src);
  return a;
}

/** A Float32Array on a SharedArrayBuffer (zeroed), optionally copied from `src`. */
export function sharedF32(n: number, src?: ArrayLike<number>): Float32Array {
  const a = new Float32Array(new SharedArrayBuffer(Math.max(0, n) * 4));
  if (src) a.set(src);
  return a;
}

/** An Int32Array on a SharedArrayBuffer (zeroed), optionally copied from `src`. */
export function sharedI32(n: number, src?: ArrayLike<number>): Int32Array {
  const a = new Int32Array(new SharedArrayBuffer(Math.max(0, n) * 4));
  if (src) a.set(src);
  return a;
}

/** `a` itself when it already lives on a SharedArrayBuffer, else a shared copy. */
export function toShared<T extends Float64Array | Float32Array | Int32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
  out.set(a as never);
  return out;
}
