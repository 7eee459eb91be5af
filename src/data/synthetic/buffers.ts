/**
 * Append-only typed-array buffers. Events grow in fixed 1M-row chunks (no reallocation of the
 * whole log while simulating; one copy into exact-size arrays at the end, freeing chunks as it
 * goes). The smaller tables grow by doubling.
 */
import type { EpisodeArrays, EventArrays, PaymentArrays, PeriodArrays } from "./types";

const CHUNK = 1 << 20;

/** Chunked event log. */
export class EventBuffer {
  private us: Int32Array[] = [];
  private is: Int32Array[] = [];
  private tss: Float64Array[] = [];
  private rs: Float32Array[] = [];
  private ws: Float32Array[] = [];
  private cu = new Int32Array(0);
  private ci = new Int32Array(0);
  private cts = new Float64Array(0);
  private cr = new Float32Array(0);
  private cw = new Float32Array(0);
  private pos = CHUNK;
  private full = 0;

  /** rows appended so far */
  get length(): number {
    return this.full + (this.us.length ? this.pos : 0);
  }

  push(user: number, item: number, ts: number, rating: number, watch: number): void {
    if (this.pos === CHUNK) this.grow();
    const p = this.pos++;
    this.cu[p] = user;
    this.ci[p] = item;
    this.cts[p] = ts;
    this.cr[p] = rating;
    this.cw[p] = watch;
  }

  private grow(): void {
    if (this.us.length) this.full += CHUNK;
    this.us.push((this.cu = new Int32Array(CHUNK)));
    this.is.push((this.ci = new Int32Array(CHUNK)));
    this.tss.push((this.cts = new Float64Array(CHUNK)));
    this.rs.push((this.cr = new Float32Array(CHUNK)));
    this.ws.push((this.cw = new Float32Array(CHUNK)));
    this.pos = 0;
  }

  /** Exact-size arrays; the buffer is empty afterwards. */
  finish(): EventArrays {
    const n = this.length;
    const take = <T extends Int32Array | Float64Array | Float32Array>(chunks: T[], out: T): T => {
      let off = 0;
      while (chunks.length) {
        const c = chunks.shift() as T;
        const len = Math.min(CHUNK, n - off);
        out.set(c.subarray(0, len) as never, off);
        off += len;
      }
      return out;
    };
    const ev: EventArrays = {
      length: n,
      user: take(this.us, new Int32Array(n)),
      item: take(this.is, new Int32Array(n)),
      ts: take(this.tss, new Float64Array(n)),
      rating: take(this.rs, new Float32Array(n)),
      watchFraction: take(this.ws, new Float32Array(n)),
      eventType: new Uint8Array(n),
    };
    this.cu = this.ci = new Int32Array(0);
    this.cts = new Float64Array(0);
    this.cr = this.cw = new Float32Array(0);
    this.pos = CHUNK;
    this.full = 0;
    return ev;
  }
}

/** A growable Float64 column. */
export class F64Column {
  data: Float64Array = new Float64Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const d = new Float64Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = x;
  }
  finish(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

/** A growable Int32 column. */
export class I32Column {
  data: Int32Array = new Int32Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = x;
  }
  finish(): Int32Array {
    return this.data.slice(0, this.length);
  }
}

/** Payments being recorded. */
export class PaymentBuffer {
  readonly user = new I32Column();
  readonly ts = new F64Column();
  readonly amount = new F64Column();
  push(u: number, ts: number, amount: number): void {
    this.user.push(u);
    this.ts.push(ts);
    this.amount.push(amount);
  }
  finish(): PaymentArrays {
    return { length: this.user.length, user: this.user.finish(), ts: this.ts.finish(), amount: this.amount.finish() };
  }
}

/** Billing periods being recorded. */
export class PeriodBuffer {
  readonly user = new I32Column();
  readonly start = new F64Column();
  readonly end = new F64Column();
  readonly satisfaction = new F64Column();
  readonly hazard = new F64Column();
  readonly outcome = new I32Column();
  push(u: number, start: number, end: number, sat: number, hazard: number, outcome: number): void {
    this.user.push(u);
    this.start.push(start);
    this.end.push(end);
    this.satisfaction.push(sat);
    this.hazard.push(hazard);
    this.outcome.push(outcome);
  }
  get length(): number {
    return this.user.length;
  }
  finish(userStart: Int32Array): PeriodArrays {
    return {
      length: this.user.length,
      user: this.user.finish(),
      start: this.start.finish(),
      end: this.end.finish(),
      satisfaction: this.satisfaction.finish(),
      hazard: this.hazard.finish(),
      outcome: Uint8Array.from(this.outcome.finish()),
      userStart,
    };
  }
}

/** Churn episodes being recorded. */
export class EpisodeBuffer {
  readonly user = new I32Column();
  readonly churnTs = new F64Column();
  readonly returnTs = new F64Column();
  push(u: number, churnTs: number): void {
    this.user.push(u);
    this.churnTs.push(churnTs);
    this.returnTs.push(NaN);
  }
  /** Marks the latest episode (which belongs to the user being simulated) as ended by a return. */
  markReturn(ts: number): void {
    this.returnTs.data[this.returnTs.length - 1] = ts;
  }
  get length(): number {
    return this.user.length;
  }
  finish(): EpisodeArrays {
    return { length: this.user.length, user: this.user.finish(), churnTs: this.churnTs.finish(), returnTs: this.returnTs.finish() };
  }
}
