/**
 * Structured logging. Human-readable lines on stderr by default; one JSON object per line with
 * `--log-json`. Progress bars draw only on an interactive terminal and never in JSON mode, so
 * CI logs stay clean.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  json?: boolean;
  level?: LogLevel;
  /** where lines go (default process.stderr) */
  sink?: (line: string) => void;
  /** ISO time source; tests inject a fixed clock */
  now?: () => Date;
}

/** A structured logger: `log.info("event", {fields})`. */
export class Logger {
  readonly json: boolean;
  private readonly level: number;
  private readonly sink: (line: string) => void;
  private readonly now: () => Date;
  private readonly context: Record<string, unknown>;

  constructor(opts: LoggerOptions = {}, context: Record<string, unknown> = {}) {
    this.json = opts.json ?? false;
    this.level = LEVELS[opts.level ?? "info"];
    this.sink = opts.sink ?? ((line) => process.stderr.write(`${line}\n`));
    this.now = opts.now ?? (() => new Date());
    this.context = context;
  }

  /** A logger whose lines all carry `fields` (e.g. the stage name). */
  child(fields: Record<string, unknown>): Logger {
    return new Logger({ json: this.json, level: levelName(this.level), sink: this.sink, now: this.now }, { ...this.context, ...fields });
  }

  debug(event: string, fields: Record<string, unknown> = {}): void {
    this.emit("debug", event, fields);
  }
  info(event: string, fields: Record<string, unknown> = {}): void {
    this.emit("info", event, fields);
  }
  warn(event: string, fields: Record<string, unknown> = {}): void {
    this.emit("warn", event, fields);
  }
  error(event: string, fields: Record<string, unknown> = {}): void {
    this.emit("error", event, fields);
  }

  /** A progress reporter for `total` units of work labelled `label`. */
  progress(label: string, total: number): Progress {
    const tty = !this.json && process.stderr.isTTY === true && process.env.CI !== "true";
    return new Progress(label, total, tty);
  }

  private emit(level: LogLevel, event: string, fields: Record<string, unknown>): void {
    if (LEVELS[level] < this.level) return;
    const all = { ...this.context, ...fields };
    if (this.json) {
      this.sink(JSON.stringify({ time: this.now().toISOString(), level, event, ...all }, jsonReplacer));
    } else {
      const kv = Object.entries(all)
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v, jsonReplacer)}`)
        .join(" ");
      this.sink(`[ntg] ${level === "info" ? "" : `${level.toUpperCase()} `}${event}${kv ? ` ${kv}` : ""}`);
    }
  }
}

function levelName(n: number): LogLevel {
  return (Object.keys(LEVELS) as LogLevel[]).find((k) => LEVELS[k] === n) ?? "info";
}

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}

/** A terminal progress bar (no-op when not on a TTY). */
export class Progress {
  private done = 0;
  private lastDraw = 0;
  private readonly start = Date.now();
  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly tty: boolean,
  ) {}

  /** Advance by `n` units. */
  tick(n = 1): void {
    this.done += n;
    if (!this.tty) return;
    const t = Date.now();
    if (t - this.lastDraw < 100 && this.done < this.total) return;
    this.lastDraw = t;
    const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
    const width = 28;
    const filled = Math.round(frac * width);
    const secs = ((t - this.start) / 1000).toFixed(1);
    process.stderr.write(`\r${this.label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(frac * 100).toFixed(0)}% ${secs}s`);
  }

  /** Finish the bar and move to a new line. */
  finish(): void {
    if (!this.tty) return;
    this.done = this.total;
    this.lastDraw = 0;
    this.tick(0);
    process.stderr.write("\n");
  }
}

/** The default logger for library calls that were not handed one: warnings only. */
export const quietLogger = new Logger({ level: "warn" });
