/** Base class for every error NTG raises on purpose: the CLI prints its message, not a stack trace. */
export class NtgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NtgError";
  }
}

/** Where in an input a problem sits. Every field is optional because not every source has lines. */
export interface InputLocation {
  file?: string;
  line?: number;
  column?: string;
  value?: string | null;
}

/** Bad input: names the file, line, column, offending value and the reason. */
export class InputError extends NtgError {
  readonly location: InputLocation;
  readonly reason: string;
  constructor(reason: string, location: InputLocation = {}) {
    super(formatInputProblem(reason, location));
    this.name = "InputError";
    this.reason = reason;
    this.location = location;
  }
}

/** Invalid configuration: names the key path. */
export class ConfigError extends NtgError {
  readonly path: string;
  constructor(path: string, reason: string, file?: string) {
    super(`${file ? `${file}: ` : ""}config key '${path}': ${reason}`);
    this.name = "ConfigError";
    this.path = path;
  }
}

/** A leakage check failed: something downstream of a split saw data it must not see. */
export class LeakageError extends NtgError {
  constructor(message: string) {
    super(`leakage check failed: ${message}`);
    this.name = "LeakageError";
  }
}

/** Formats `file:line: column 'c' value 'v': reason` leaving out what is unknown. */
export function formatInputProblem(reason: string, loc: InputLocation): string {
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(loc.line !== undefined ? `${loc.file}:${loc.line}` : loc.file);
  else if (loc.line !== undefined) parts.push(`line ${loc.line}`);
  if (loc.column !== undefined) parts.push(`column '${loc.column}'`);
  if (loc.value !== undefined) parts.push(`value ${loc.value === null ? "NULL" : JSON.stringify(truncate(loc.value, 80))}`);
  return parts.length ? `${parts.join(", ")}: ${reason}` : reason;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}
