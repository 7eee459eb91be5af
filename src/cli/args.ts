import { NtgError } from "../util/errors";

/** Parsed command line. */
export interface ParsedArgs {
  command: string[];
  config: string | null;
  sets: string[];
  force: boolean;
  logJson: boolean;
  quiet: boolean;
  help: boolean;
  version: boolean;
  /** command-specific `--name value` options */
  options: Record<string, string>;
}

/** A usage error: printed with the help text and exit code 2. */
export class UsageError extends NtgError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

const VALUE_OPTIONS = new Set(["dest", "base-url", "out", "input"]);

/** Parses `ntg [--config F] [--set k=v ...] [--force] [--log-json] <command...>`. */
export function parseArgs(argv: string[]): ParsedArgs {
  const out: ParsedArgs = { command: [], config: null, sets: [], force: false, logJson: false, quiet: false, help: false, version: false, options: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takeValue = (name: string): string => {
      const eq = a.indexOf("=");
      if (eq > 0) return a.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${name} needs a value`);
      return v;
    };
    if (a === "--config" || a.startsWith("--config=") || a === "-c") out.config = takeValue("--config");
    else if (a === "--set" || a.startsWith("--set=")) out.sets.push(takeValue("--set"));
    else if (a === "--force" || a === "-f") out.force = true;
    else if (a === "--log-json") out.logJson = true;
    else if (a === "--quiet" || a === "-q") out.quiet = true;
    else if (a === "--help" || a === "-h") out.help = true;
    else if (a === "--version" || a === "-V") out.version = true;
    else if (a.startsWith("--")) {
      const name = a.slice(2).split("=")[0];
      if (!VALUE_OPTIONS.has(name)) throw new UsageError(`unknown option '${a}'`);
      out.options[name] = takeValue(`--${name}`);
    } else out.command.push(a);
  }
  return out;
}
