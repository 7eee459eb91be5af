/**
 * Headless Jupyter client for the tslab kernel: starts `tslab kernel` the way Jupyter would
 * (connection file + child process) and speaks messaging protocol v5.3 over ZeroMQ, so
 * notebooks can be executed and tested without Python or a Jupyter server.
 *
 * tslab specifics this client accounts for (read from node_modules/tslab/dist):
 * - It never sends `execute_result` or `error` on iopub: the value of a cell's last expression
 *   is `console.log`-ed (a stdout `stream`), and compile diagnostics / thrown errors are
 *   `console.error`-ed (a stderr `stream`); only `execute_reply.status` says "error". We
 *   therefore synthesize `ExecuteResult.error` from the cell's stderr text.
 * - It has no `interrupt_request` handler; interruption is SIGINT (vm `breakOnSigint`).
 * - After a failed cell it aborts any execute request arriving within 200 ms, so we pause
 *   before the next request instead of getting spurious `abort` replies.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zmq from "zeromq";

/** Repository root (this file lives in scripts/notebooks/). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** Path of the tslab launcher script installed in this repository. */
export const TSLAB_BIN = path.join(REPO_ROOT, "node_modules", "tslab", "bin", "tslab");

const DELIM = Buffer.from("<IDS|MSG>");
const PROTOCOL_VERSION = "5.3";
/** tslab rejects execute requests for 200 ms after an error (TaskQueue.reset(200)). */
const POST_ERROR_PAUSE_MS = 250;

/** Jupyter connection file contents (tcp transport only). */
export interface ConnectionInfo {
  transport: "tcp";
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  signature_scheme: "hmac-sha256";
  key: string;
  kernel_name?: string;
}

/** Jupyter message header (protocol v5). */
export interface MessageHeader {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

/** A decoded Jupyter message. */
export interface JupyterMessage {
  header: MessageHeader;
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: Record<string, any>;
  buffers: Buffer[];
}

/** nbformat v4 `stream` output. */
export interface StreamOutput {
  output_type: "stream";
  name: "stdout" | "stderr";
  text: string;
}

/** nbformat v4 `execute_result` output. */
export interface ExecuteResultOutput {
  output_type: "execute_result";
  execution_count: number | null;
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** nbformat v4 `display_data` output. */
export interface DisplayDataOutput {
  output_type: "display_data";
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
}

/** nbformat v4 `error` output. */
export interface ErrorOutput {
  output_type: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Any nbformat v4 code-cell output. */
export type NbOutput = StreamOutput | ExecuteResultOutput | DisplayDataOutput | ErrorOutput;

/** Error details of a failed cell (from an `error` message, or synthesized from stderr for tslab). */
export interface CellError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Outcome of one `execute` call. */
export interface ExecuteResult {
  status: "ok" | "error";
  outputs: NbOutput[];
  executionCount: number | null;
  error?: CellError;
}

/** Options for {@link TslabKernel.start}. */
export interface KernelStartOptions {
  /** Kernel working directory; module resolution and relative paths start here (default: process.cwd()). */
  cwd?: string;
  /** How long to wait for kernel_info_reply and the first iopub message (default 60 s). */
  startupTimeoutMs?: number;
  /** Environment of the kernel process (default: this process's environment). */
  env?: NodeJS.ProcessEnv;
  /** tslab launcher script (default: this repo's node_modules/tslab/bin/tslab). */
  tslabBin?: string;
}

/** Options for {@link TslabKernel.execute}. */
export interface ExecuteOptions {
  /** Kill the kernel and reject with {@link CellTimeoutError} after this long (default 10 min). */
  timeoutMs?: number;
}

/** Thrown when a cell exceeds its timeout; the kernel process has been killed. */
export class CellTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`cell execution timed out after ${timeoutMs} ms (${timeoutMs / 1000} s); the tslab kernel was killed`);
    this.name = "CellTimeoutError";
  }
}

/** Thrown when the kernel process is gone (exited, crashed or killed) while a request is pending. */
export class KernelDiedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KernelDiedError";
  }
}

/** Reserves `count` distinct free TCP ports on `ip` by binding port 0 (held together so they differ). */
export async function findFreePorts(count: number, ip = "127.0.0.1"): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, ip, () => resolve());
      });
      ports.push((srv.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** HMAC-SHA256 signature over the four JSON frames, as the wire protocol requires. */
export function signFrames(key: string, frames: Array<string | Buffer>): string {
  const h = createHmac("sha256", key);
  for (const f of frames) h.update(f);
  return h.digest("hex");
}

/** Splits a received multipart message at `<IDS|MSG>`, verifies its signature and decodes it. */
export function decodeMessage(key: string, frames: Buffer[]): JupyterMessage {
  const at = frames.findIndex((f) => f.equals(DELIM));
  if (at < 0 || frames.length < at + 6) throw new Error("malformed Jupyter message (no <IDS|MSG> delimiter)");
  const signature = frames[at + 1].toString();
  const body = frames.slice(at + 2, at + 6);
  const expected = signFrames(key, body);
  if (signature !== expected) throw new Error("Jupyter message with invalid HMAC signature");
  return {
    header: JSON.parse(body[0].toString()),
    parent_header: JSON.parse(body[1].toString()),
    metadata: JSON.parse(body[2].toString()),
    content: JSON.parse(body[3].toString()),
    buffers: frames.slice(at + 6),
  };
}

/** Serializes and signs a message into the frames a DEALER sends (the ROUTER adds our identity). */
export function encodeMessage(key: string, msg: Omit<JupyterMessage, "buffers">): Array<string | Buffer> {
  const body = [
    JSON.stringify(msg.header),
    JSON.stringify(msg.parent_header),
    JSON.stringify(msg.metadata),
    JSON.stringify(msg.content),
  ];
  return [DELIM, signFrames(key, body), ...body];
}

/** Concatenated text of all stdout (or another stream's) outputs, plus text/plain of results. */
export function outputText(outputs: NbOutput[], stream: "stdout" | "stderr" = "stdout"): string {
  let s = "";
  for (const o of outputs) {
    if (o.output_type === "stream" && o.name === stream) s += o.text;
    else if (stream === "stdout" && (o.output_type === "execute_result" || o.output_type === "display_data")) {
      const t = o.data["text/plain"];
      if (typeof t === "string") s += t;
      else if (Array.isArray(t)) s += t.join("");
    }
  }
  return s;
}

/**
 * Derives ename/evalue/traceback from tslab's stderr text for a failed cell. Type errors are
 * printed as `<line>:<col> - <message>` lines; thrown errors as Node's `Name: message\n    at ...`.
 */
export function errorFromStderr(stderr: string): CellError {
  const lines = stderr.replace(/\s+$/, "").split("\n");
  const diag = lines.filter((l) => /^(\S+ )?\d+:\d+ - /.test(l));
  if (diag.length > 0) {
    return {
      ename: "TypeScriptError",
      evalue: diag.map((l) => l.replace(/^(\S+ )?\d+:\d+ - /, "")).join("\n"),
      traceback: lines,
    };
  }
  // Node prints `file:line`, the source line and a caret first; the `Name: message` line sits just above the stack.
  const atIdx = lines.findIndex((l) => /^\s+at /.test(l));
  const head = atIdx >= 0 ? lines.slice(0, atIdx) : lines;
  for (let i = head.length - 1; i >= 0; i--) {
    const m = /^(?:Uncaught )?([A-Za-z_$][\w$.]*)(?: \[[^\]]*\])?: (.*)$/.exec(head[i]);
    if (m) return { ename: m[1], evalue: [m[2], ...head.slice(i + 1)].join("\n").trim(), traceback: lines };
  }
  const first = lines.find((l) => l.trim() !== "");
  if (first !== undefined) return { ename: "Error", evalue: first, traceback: lines };
  return { ename: "ExecutionError", evalue: "kernel reported an error without any output", traceback: [] };
}

type Channel = "shell" | "control";

interface PendingRequest {
  resolve: (m: JupyterMessage) => void;
  reject: (e: Error) => void;
}

interface ExecutionCollector {
  outputs: NbOutput[];
  idle: boolean;
  clearOnNext: boolean;
  onIdle?: () => void;
  errorMsg?: CellError;
}

const liveKernels = new Set<TslabKernel>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort: never leave an orphaned kernel behind if the caller forgot shutdown().
  process.on("exit", () => {
    for (const k of liveKernels) k.killNow();
  });
}

/** A running tslab kernel with connected shell / iopub / control sockets. */
export class TslabKernel {
  /** `kernel_info_reply` content received at startup. */
  kernelInfo: Record<string, any> = {};
  private readonly session = randomUUID();
  private readonly pending = new Map<string, PendingRequest>();
  private readonly executions = new Map<string, ExecutionCollector>();
  private readonly sendQueues = new Map<zmq.Socket, Promise<void>>();
  private readonly statusParents = new Set<string>();
  private closed = false;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exited: Promise<void>;
  private stdioTail = "";
  private lastErrorAt = 0;
  private readonly shell = new zmq.Dealer({ linger: 0 });
  private readonly control = new zmq.Dealer({ linger: 0 });
  private readonly iopub = new zmq.Subscriber({ linger: 0 });

  private constructor(
    private readonly child: ChildProcess,
    private readonly conn: ConnectionInfo,
    private readonly tmpDir: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitInfo = { code, signal };
        liveKernels.delete(this);
        const err = new KernelDiedError(`tslab kernel exited (${this.describeExit()})${this.tailForMessage()}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        resolve();
      });
    });
    const keep = (chunk: Buffer) => {
      // Bounded buffer of the process's own stdio, only used to explain startup failures/crashes.
      this.stdioTail = (this.stdioTail + chunk.toString()).slice(-8192);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
  }

  /** Spawns `tslab kernel --config-path <file>` in `cwd` and waits until it answers on shell and iopub. */
  static async start(options: KernelStartOptions = {}): Promise<TslabKernel> {
    const cwd = path.resolve(options.cwd ?? process.cwd());
    const bin = options.tslabBin ?? TSLAB_BIN;
    if (!fs.existsSync(bin)) throw new Error(`tslab launcher not found at ${bin} (is the tslab devDependency installed?)`);
    const ip = "127.0.0.1";
    const [shell_port, iopub_port, stdin_port, control_port, hb_port] = await findFreePorts(5, ip);
    const conn: ConnectionInfo = {
      transport: "tcp",
      ip,
      shell_port,
      iopub_port,
      stdin_port,
      control_port,
      hb_port,
      signature_scheme: "hmac-sha256",
      key: randomBytes(32).toString("hex"),
      kernel_name: "tslab",
    };
    const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "ntg-kernel-"));
    const connFile = path.join(tmpDir, "kernel.json");
    fs.writeFileSync(connFile, JSON.stringify(conn, null, 2), { mode: 0o600 });

    const child = spawn(process.execPath, [bin, "kernel", "--config-path", connFile], {
      cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const kernel = new TslabKernel(child, conn, tmpDir);
    liveKernels.add(kernel);
    installExitHook();
    try {
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", () => resolve());
        child.once("error", reject);
      });
      kernel.connect();
      await kernel.waitReady(options.startupTimeoutMs ?? 60_000);
    } catch (e) {
      await kernel.dispose();
      throw e;
    }
    return kernel;
  }

  /** OS process id of the kernel. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True while the kernel process is running. */
  get alive(): boolean {
    return this.exitInfo === null;
  }

  /** Resolves once the kernel process has exited. */
  waitForExit(): Promise<void> {
    return this.exited;
  }

  private url(port: number): string {
    return `${this.conn.transport}://${this.conn.ip}:${port}`;
  }

  private connect(): void {
    this.shell.connect(this.url(this.conn.shell_port));
    this.control.connect(this.url(this.conn.control_port));
    this.iopub.connect(this.url(this.conn.iopub_port));
    this.iopub.subscribe();
    void this.readLoop(this.shell, (m) => this.onReply(m));
    void this.readLoop(this.control, (m) => this.onReply(m));
    void this.readLoop(this.iopub, (m) => this.onIopub(m));
  }

  private async readLoop(sock: zmq.Socket & AsyncIterable<Buffer[]>, handle: (m: JupyterMessage) => void): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: JupyterMessage;
        try {
          msg = decodeMessage(this.conn.key, frames);
        } catch {
          continue; // unsigned or malformed frames are ignored, as Jupyter does
        }
        handle(msg);
      }
    } catch {
      // The iterator throws once the socket is closed; that is the normal end of the loop.
    }
  }

  private onReply(msg: JupyterMessage): void {
    const id = msg.parent_header.msg_id;
    if (!id) return;
    const p = this.pending.get(id);
    if (p) {
      this.pending.delete(id);
      p.resolve(msg);
    }
  }

  private onIopub(msg: JupyterMessage): void {
    const parentId = msg.parent_header.msg_id;
    if (msg.header.msg_type === "status" && parentId) this.statusParents.add(parentId);
    if (!parentId) return;
    const ex = this.executions.get(parentId);
    if (!ex) return;
    const c = msg.content;
    const push = (o: NbOutput) => {
      if (ex.clearOnNext) {
        ex.outputs.length = 0;
        ex.clearOnNext = false;
      }
      const last = ex.outputs[ex.outputs.length - 1];
      // Consecutive chunks of one stream form a single output, as in saved notebooks.
      if (o.output_type === "stream" && last?.output_type === "stream" && last.name === o.name) last.text += o.text;
      else ex.outputs.push(o);
    };
    switch (msg.header.msg_type) {
      case "stream":
        push({ output_type: "stream", name: c.name === "stderr" ? "stderr" : "stdout", text: String(c.text ?? "") });
        break;
      case "execute_result":
        push({ output_type: "execute_result", execution_count: c.execution_count ?? null, data: c.data ?? {}, metadata: c.metadata ?? {} });
        break;
      case "display_data":
        push({ output_type: "display_data", data: c.data ?? {}, metadata: c.metadata ?? {} });
        displayIds.set(ex.outputs[ex.outputs.length - 1], c.transient?.display_id);
        break;
      case "update_display_data": {
        const target = ex.outputs.find((o) => displayIds.get(o) !== undefined && displayIds.get(o) === c.transient?.display_id);
        if (target && target.output_type === "display_data") {
          target.data = c.data ?? {};
          target.metadata = c.metadata ?? {};
        }
        break;
      }
      case "clear_output":
        if (c.wait) ex.clearOnNext = true;
        else ex.outputs.length = 0;
        break;
      case "error": {
        const err: CellError = { ename: String(c.ename), evalue: String(c.evalue), traceback: c.traceback ?? [] };
        ex.errorMsg = err;
        push({ output_type: "error", ...err });
        break;
      }
      case "status":
        if (c.execution_state === "idle") {
          ex.idle = true;
          ex.onIdle?.();
        }
        break;
    }
  }

  private header(msgType: string): MessageHeader {
    return {
      msg_id: randomUUID(),
      session: this.session,
      username: os.userInfo().username,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    };
  }

  /** zeromq v6 allows one in-flight send per socket, so sends are chained. */
  private send(sock: zmq.Dealer, frames: Array<string | Buffer>): Promise<void> {
    const prev = this.sendQueues.get(sock) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(() => sock.send(frames));
    this.sendQueues.set(sock, next);
    return next;
  }

  /** Sends a request on shell or control; returns its msg_id and a promise of the reply. */
  private request(channel: Channel, msgType: string, content: Record<string, unknown>): { id: string; reply: Promise<JupyterMessage> } {
    if (this.closed) throw new KernelDiedError("kernel client is closed");
    if (!this.alive) throw new KernelDiedError(`tslab kernel is not running (${this.describeExit()})`);
    const header = this.header(msgType);
    const reply = new Promise<JupyterMessage>((resolve, reject) => this.pending.set(header.msg_id, { resolve, reject }));
    reply.catch(() => undefined); // callers that stop waiting (retries, timeouts) must not cause unhandled rejections
    const sock = channel === "shell" ? this.shell : this.control;
    this.send(sock, encodeMessage(this.conn.key, { header, parent_header: {}, metadata: {}, content })).catch((e: Error) => {
      const p = this.pending.get(header.msg_id);
      this.pending.delete(header.msg_id);
      p?.reject(e);
    });
    return { id: header.msg_id, reply };
  }

  /**
   * tslab binds its sockets only after warming up the compiler, and a SUB socket misses whatever
   * is published before it has joined, so we repeat kernel_info_request until we have both a reply
   * and an iopub status message for one of our requests.
   */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ids: string[] = [];
    let replied = false;
    while (Date.now() < deadline) {
      if (!this.alive) throw new KernelDiedError(`tslab kernel exited during startup (${this.describeExit()})${this.tailForMessage()}`);
      const { id, reply } = this.request("shell", "kernel_info_request", {});
      ids.push(id);
      const got = await within(Promise.race([reply, this.exited.then(() => null)]), 1000);
      if (got) {
        replied = true;
        this.kernelInfo = got.content;
      }
      if (replied && ids.some((i) => this.statusParents.has(i))) {
        for (const i of ids) this.pending.delete(i);
        return;
      }
      if (got) await sleep(100);
    }
    throw new Error(`tslab kernel did not become ready within ${timeoutMs} ms${this.tailForMessage()}`);
  }

  /** Executes one cell and collects its iopub outputs until the kernel reports idle. */
  async execute(code: string, options: ExecuteOptions = {}): Promise<ExecuteResult> {
    const timeoutMs = options.timeoutMs ?? 600_000;
    const wait = this.lastErrorAt + POST_ERROR_PAUSE_MS - Date.now();
    if (wait > 0) await sleep(wait);

    const collector: ExecutionCollector = { outputs: [], idle: false, clearOnNext: false };
    const idle = new Promise<void>((resolve) => (collector.onIdle = resolve));
    const { id, reply } = this.request("shell", "execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    this.executions.set(id, collector);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      // Both are needed: the reply carries status/count, and iopub idle marks the end of outputs.
      const done = Promise.all([reply, idle]);
      done.catch(() => undefined); // after a timeout nobody awaits it any more
      const raced = await Promise.race([done, timedOut]);
      if (raced === "timeout") {
        this.killNow();
        await this.dispose();
        throw new CellTimeoutError(timeoutMs);
      }
      const [rep] = raced;
      const status = rep.content.status === "ok" ? "ok" : "error";
      const result: ExecuteResult = {
        status,
        outputs: collector.outputs,
        executionCount: typeof rep.content.execution_count === "number" ? rep.content.execution_count : null,
      };
      if (status === "error") {
        this.lastErrorAt = Date.now();
        result.error =
          collector.errorMsg ??
          (rep.content.status === "abort"
            ? { ename: "ExecutionAborted", evalue: "the kernel aborted this execution", traceback: [] }
            : rep.content.ename
              ? { ename: String(rep.content.ename), evalue: String(rep.content.evalue ?? ""), traceback: rep.content.traceback ?? [] }
              : errorFromStderr(outputText(collector.outputs, "stderr")));
      }
      return result;
    } finally {
      clearTimeout(timer);
      this.executions.delete(id);
    }
  }

  /** Interrupts the running cell. tslab implements interrupts via SIGINT, not interrupt_request. */
  interrupt(): void {
    if (this.alive) this.child.kill("SIGINT");
  }

  /** Sends SIGKILL to the kernel process immediately (no cleanup of sockets; see shutdown/dispose). */
  killNow(): void {
    if (this.alive && !this.child.killed) this.child.kill("SIGKILL");
  }

  /**
   * Graceful stop: shutdown_request on control, then wait for the process to exit; escalates
   * to SIGTERM/SIGKILL if the kernel does not comply. Always releases sockets and temp files.
   */
  async shutdown(graceMs = 3000): Promise<void> {
    if (this.alive && !this.closed) {
      try {
        const { reply } = this.request("control", "shutdown_request", { restart: false });
        await within(Promise.race([reply, this.exited]), graceMs);
      } catch {
        // kernel already unreachable; fall through to signals
      }
      await within(this.exited, graceMs);
      if (this.alive) {
        this.child.kill("SIGTERM");
        await within(this.exited, 1000);
      }
      this.killNow();
    }
    await this.dispose();
  }

  /** Closes sockets, waits for a killed process to be reaped, removes the connection file. */
  private async dispose(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.shell.close();
      this.control.close();
      this.iopub.close();
      const err = new KernelDiedError("kernel client closed");
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    }
    if (this.alive) {
      this.killNow();
      await within(this.exited, 2000);
    }
    liveKernels.delete(this);
    fs.rmSync(this.tmpDir, { recursive: true, force: true });
  }

  private describeExit(): string {
    if (!this.exitInfo) return "still running";
    return this.exitInfo.signal ? `signal ${this.exitInfo.signal}` : `exit code ${this.exitInfo.code}`;
  }

  private tailForMessage(): string {
    const t = this.stdioTail.trim();
    return t ? `\n--- kernel output ---\n${t.slice(-2000)}` : "";
  }
}

/** display_id of display_data outputs, kept outside the nbformat object so it is not serialized. */
const displayIds = new WeakMap<NbOutput, string | undefined>();

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves with `p`'s value, or null after `ms`; the timer is cleared so it never delays process exit. */
function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
