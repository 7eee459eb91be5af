/**
 * Recency–frequency–monetary summaries from raw transactions, the input of the BG/NBD, Pareto/NBD and
 * Gamma-Gamma models, and a reader for the CDNOW transaction file format.
 */
import * as fs from "node:fs";
import { InputError } from "../util/errors";

/** Raw transactions, one row per purchase line; several rows on one day are one purchase occasion. */
export interface Transactions {
  /** customer key */
  customer: Int32Array;
  /** purchase date as days since 1970-01-01 (UTC) */
  day: Int32Array;
  /** amount spent on the row */
  amount: Float64Array;
}

/** The per-customer sufficient statistics of the "buy till you die" models. */
export interface RfmData {
  /** x: number of repeat purchase occasions in the calibration period */
  frequency: Float64Array;
  /** t_x: time of the last purchase − time of the first (0 when x = 0) */
  recency: Float64Array;
  /** T: calibration end − time of the first purchase */
  T: Float64Array;
}

/** {@link RfmData} plus the customer key, spend and (optionally) hold-out counts. */
export interface RfmSummary extends RfmData {
  customer: Int32Array;
  /** mean amount of the repeat purchase occasions (0 when frequency = 0) */
  monetary: Float64Array;
  /** day of the first purchase (days since 1970-01-01) */
  firstDay: Int32Array;
  /** purchase occasions in (calibration end, hold-out end], when a hold-out end was given */
  holdoutFrequency?: Float64Array;
  /** hold-out length in time units (hold-out end − calibration end) */
  holdoutLength?: number;
  length: number;
}

/** Options for {@link rfmSummary}. */
export interface RfmOptions {
  /** last day of the calibration period (inclusive), "YYYY-MM-DD", "YYYYMMDD" or days since epoch */
  calibrationEnd: string | number;
  /** days per time unit (default 7: weeks, as in Fader, Hardie & Lee 2005) */
  timeUnitDays?: number;
  /** last day of a hold-out period (inclusive) for counting hold-out purchases */
  holdoutEnd?: string | number;
  /** keep only customers whose first purchase is on or after this day (cohort start) */
  firstPurchaseFrom?: string | number;
  /** keep only customers whose first purchase is on or before this day (cohort end) */
  firstPurchaseTo?: string | number;
}

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 (UTC) of a calendar date; throws InputError for an impossible date. */
export function dayNumber(year: number, month: number, day: number): number {
  const ms = Date.UTC(year, month - 1, day);
  const d = new Date(ms);
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) {
    throw new InputError(`not a calendar date: ${year}-${month}-${day}`);
  }
  return Math.round(ms / MS_PER_DAY);
}

/** Parses "YYYY-MM-DD" or "YYYYMMDD" (or passes a day number through) into days since 1970-01-01. */
export function parseDay(value: string | number): number {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new InputError("a day number must be an integer", { value: String(value) });
    return value;
  }
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(value.trim());
  if (!m) throw new InputError("expected a date as YYYY-MM-DD or YYYYMMDD", { value });
  try {
    return dayNumber(Number(m[1]), Number(m[2]), Number(m[3]));
  } catch {
    throw new InputError("not a calendar date", { value });
  }
}

/** Formats a day number as YYYY-MM-DD. */
export function formatDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/**
 * Per-customer RFM summary as in Fader, Hardie & Lee (2005, "Counting your customers the easy way"
 * and "RFM and CLV"): rows on the same day are merged into one purchase occasion with summed amount;
 * frequency x = occasions − 1 up to the calibration end, recency t_x = last − first occasion,
 * T = calibration end − first occasion (both in `timeUnitDays` units), monetary = mean amount of the
 * repeat occasions. Customers whose first purchase falls after the calibration end are left out.
 */
export function rfmSummary(tx: Transactions, opts: RfmOptions): RfmSummary {
  const n = tx.customer.length;
  if (tx.day.length !== n || tx.amount.length !== n) {
    throw new InputError(`transactions: columns differ in length (customer ${n}, day ${tx.day.length}, amount ${tx.amount.length})`);
  }
  const unit = opts.timeUnitDays ?? 7;
  if (!(unit > 0)) throw new InputError("timeUnitDays must be > 0", { value: String(unit) });
  const calEnd = parseDay(opts.calibrationEnd);
  const holdEnd = opts.holdoutEnd === undefined ? undefined : parseDay(opts.holdoutEnd);
  if (holdEnd !== undefined && holdEnd <= calEnd) {
    throw new InputError("holdoutEnd must be after calibrationEnd", { value: String(opts.holdoutEnd) });
  }
  const from = opts.firstPurchaseFrom === undefined ? -Infinity : parseDay(opts.firstPurchaseFrom);
  const to = opts.firstPurchaseTo === undefined ? Infinity : parseDay(opts.firstPurchaseTo);
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(tx.amount[i])) throw new InputError(`transaction ${i}: amount is not a finite number`, { column: "amount", value: String(tx.amount[i]) });
  }

  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => tx.customer[a] - tx.customer[b] || tx.day[a] - tx.day[b]);

  const cust: number[] = [];
  const freq: number[] = [];
  const rec: number[] = [];
  const bigT: number[] = [];
  const mon: number[] = [];
  const first: number[] = [];
  const hold: number[] = [];

  let i = 0;
  while (i < n) {
    const c = tx.customer[order[i]];
    let j = i;
    while (j < n && tx.customer[order[j]] === c) j++;
    // Customer rows are order[i..j), sorted by day.
    const firstDay = tx.day[order[i]];
    if (firstDay <= calEnd && firstDay >= from && firstDay <= to) {
      let occasions = 0;
      let lastDay = firstDay;
      let repeatSum = 0;
      let holdout = 0;
      let k = i;
      while (k < j) {
        const d = tx.day[order[k]];
        let amt = 0;
        while (k < j && tx.day[order[k]] === d) {
          amt += tx.amount[order[k]];
          k++;
        }
        if (d <= calEnd) {
          occasions++;
          lastDay = d;
          if (occasions > 1) repeatSum += amt;
        } else if (holdEnd !== undefined && d <= holdEnd) holdout++;
      }
      const x = occasions - 1;
      cust.push(c);
      freq.push(x);
      rec.push((lastDay - firstDay) / unit);
      bigT.push((calEnd - firstDay) / unit);
      mon.push(x > 0 ? repeatSum / x : 0);
      first.push(firstDay);
      hold.push(holdout);
    }
    i = j;
  }
  const out: RfmSummary = {
    customer: Int32Array.from(cust),
    frequency: Float64Array.from(freq),
    recency: Float64Array.from(rec),
    T: Float64Array.from(bigT),
    monetary: Float64Array.from(mon),
    firstDay: Int32Array.from(first),
    length: cust.length,
  };
  if (holdEnd !== undefined) {
    out.holdoutFrequency = Float64Array.from(hold);
    out.holdoutLength = (holdEnd - calEnd) / unit;
  }
  return out;
}

/**
 * Checks RFM data is what the models assume: equal lengths; x a non-negative integer;
 * 0 ≤ t_x ≤ T; t_x = 0 when x = 0. Throws InputError naming the first offending row.
 */
export function validateRfm(data: RfmData, label = "RFM data"): number {
  const n = data.frequency.length;
  if (data.recency.length !== n || data.T.length !== n) {
    throw new InputError(`${label}: frequency, recency and T differ in length (${n}, ${data.recency.length}, ${data.T.length})`);
  }
  for (let i = 0; i < n; i++) {
    const x = data.frequency[i];
    const tx = data.recency[i];
    const T = data.T[i];
    if (!(Number.isInteger(x) && x >= 0)) throw new InputError(`${label}, row ${i}: frequency must be a non-negative integer`, { column: "frequency", value: String(x) });
    if (!(tx >= 0 && Number.isFinite(tx))) throw new InputError(`${label}, row ${i}: recency must be finite and >= 0`, { column: "recency", value: String(tx) });
    if (!(T > 0 && Number.isFinite(T))) throw new InputError(`${label}, row ${i}: T must be finite and > 0`, { column: "T", value: String(T) });
    if (tx > T * (1 + 1e-12)) throw new InputError(`${label}, row ${i}: recency ${tx} exceeds T ${T}`, { column: "recency", value: String(tx) });
    if (x === 0 && tx !== 0) throw new InputError(`${label}, row ${i}: recency must be 0 when frequency is 0`, { column: "recency", value: String(tx) });
  }
  return n;
}

/** Deduplicates identical (x, t_x, T) rows into weights; shared by the transaction-model fitters (the likelihood depends on a customer only through these). */
export function collapseRfm(data: RfmData): { x: Float64Array; tx: Float64Array; T: Float64Array; w: Float64Array } {
  const map = new Map<string, number>();
  const x: number[] = [];
  const tx: number[] = [];
  const T: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < data.frequency.length; i++) {
    const key = `${data.frequency[i]}|${data.recency[i]}|${data.T[i]}`;
    const k = map.get(key);
    if (k === undefined) {
      map.set(key, w.length);
      x.push(data.frequency[i]);
      tx.push(data.recency[i]);
      T.push(data.T[i]);
      w.push(1);
    } else w[k]++;
  }
  return { x: Float64Array.from(x), tx: Float64Array.from(tx), T: Float64Array.from(T), w: Float64Array.from(w) };
}

/** CDNOW transactions as read from the file (Fader & Hardie's CDNOW_sample / CDNOW_master layout). */
export interface CdnowTransactions extends Transactions {
  /** customer id in the full CDNOW master file (first column) */
  masterId: Int32Array;
  /** customer id within the sample (second column); also used as `customer` */
  sampleId: Int32Array;
  /** number of CDs bought */
  quantity: Int32Array;
}

/**
 * Reads a CDNOW-format file: whitespace-separated, no header, one line per transaction with
 * master id, sample id, date YYYYMMDD, number of CDs, dollar value (Fader & Hardie's CDNOW data).
 * `customer` is the sample id. Blank lines are skipped; any other malformed line raises an
 * InputError naming the file, line and reason.
 */
export function readCdnowTransactions(file: string): CdnowTransactions {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new InputError(`cannot read file: ${(e as Error).message}`, { file });
  }
  const lines = text.split(/\r?\n/);
  const master: number[] = [];
  const sample: number[] = [];
  const days: number[] = [];
  const qty: number[] = [];
  const amt: number[] = [];
  const columns = ["master id", "sample id", "date", "number of CDs", "dollar value"];
  for (let li = 0; li < lines.length; li++) {
    const raw = lines[li].trim();
    if (raw === "") continue;
    const lineNo = li + 1;
    const f = raw.split(/\s+/);
    if (f.length !== 5) {
      throw new InputError(`expected 5 whitespace-separated fields (${columns.join(", ")}), found ${f.length}`, { file, line: lineNo, value: raw });
    }
    const intField = (k: number): number => {
      if (!/^\d+$/.test(f[k])) throw new InputError("expected a non-negative integer", { file, line: lineNo, column: columns[k], value: f[k] });
      const v = Number(f[k]);
      if (v > 2147483647) throw new InputError("integer out of range", { file, line: lineNo, column: columns[k], value: f[k] });
      return v;
    };
    master.push(intField(0));
    sample.push(intField(1));
    const m = /^(\d{4})(\d{2})(\d{2})$/.exec(f[2]);
    if (!m) throw new InputError("expected a date as YYYYMMDD", { file, line: lineNo, column: "date", value: f[2] });
    let d: number;
    try {
      d = dayNumber(Number(m[1]), Number(m[2]), Number(m[3]));
    } catch {
      throw new InputError("not a calendar date", { file, line: lineNo, column: "date", value: f[2] });
    }
    days.push(d);
    qty.push(intField(3));
    if (!/^[+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(f[4])) {
      throw new InputError("expected a non-negative number", { file, line: lineNo, column: "dollar value", value: f[4] });
    }
    amt.push(Number(f[4]));
  }
  if (master.length === 0) throw new InputError("no transactions in file", { file });
  const sampleId = Int32Array.from(sample);
  return {
    masterId: Int32Array.from(master),
    sampleId,
    customer: sampleId,
    day: Int32Array.from(days),
    quantity: Int32Array.from(qty),
    amount: Float64Array.from(amt),
  };
}
