/**
 * WebAssembly SIMD (f64x2) versions of the three hottest loops, assembled here from opcodes (WebAssembly
 * core spec 2.0 + fixed-width SIMD) — no toolchain, no binary blob in the repository:
 *   - `pass`:  the iALS sparse pass (als.ts `sparsePass`): for entries p in [s, e),
 *              d_p = y_{idx[p]}·v; w_p = (c_p − 1)·d_p (mode 0) or c_p − (c_p − 1)·d_p (mode 1);
 *              out += w_p·y_{idx[p]};
 *   - `accum`: item–item scoring (topk.ts): a score row += Σ v_q·W[item_q, :] over float32 rows;
 *   - `gemm`:  C += A·Bᵀ on packed panels with a 3×3 register tile (gemm.ts `gemmNT`).
 *
 * Why: V8 runs the JS versions as scalar code with a bounds check per typed-array access; two f64
 * lanes per instruction and unchecked linear-memory loads make them 1.5–3× faster (iALS iteration
 * 1.25 s → 0.35 s of CPU on the development machine). Each thread owns private instances and
 * memories ("arenas"); callers copy operands in (Y once per job, W once per model, gemm panels per
 * call) — cheap next to the arithmetic. Results equal the scalar kernels up to summation order;
 * every thread of a job uses the same engine, so parallel results stay bit-identical to serial.
 * Without WebAssembly SIMD (or with NTG_NO_WASM=1) the scalar kernels run instead.
 */

// ---- a minimal binary encoder ----

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

/** Instruction helpers (a subset of the MVP and SIMD opcodes). */
const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: [0x0b],
  br: (d: number) => [0x0c, ...uleb(d)],
  brIf: (d: number) => [0x0d, ...uleb(d)],
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  i32Load: (offset: number) => [0x28, 2, ...uleb(offset)],
  f64Load: (offset: number) => [0x2b, 3, ...uleb(offset)],
  i32Const: (v: number) => [0x41, ...sleb(v)],
  f64Const1: [0x44, ...Array.from(new Uint8Array(new Float64Array([1]).buffer))],
  i32GtS: [0x4a],
  i32GeS: [0x4e],
  i32LtS: [0x48],
  i32Add: [0x6a],
  i32Mul: [0x6c],
  i32Shl: [0x74],
  f64Add: [0xa0],
  f64Sub: [0xa1],
  f64Mul: [0xa2],
  v128Load: [0xfd, ...uleb(0), 3, 0],
  v128Store: [0xfd, ...uleb(11), 3, 0],
  v128Zero: [0xfd, ...uleb(12), ...new Array<number>(16).fill(0)],
  f64x2Splat: [0xfd, ...uleb(20)],
  f64x2Lane: (l: number) => [0xfd, ...uleb(33), l],
  f64x2Add: [0xfd, ...uleb(240)],
  f64Store: (offset: number) => [0x39, 3, ...uleb(offset)],
  v128Load64Zero: [0xfd, ...uleb(93), 3, 0],
  f64x2PromoteLow: [0xfd, ...uleb(95)],
  f64x2Mul: [0xfd, ...uleb(242)],
};

// parameters
const Y = 0, FB = 1, IDX = 2, CONF = 3, S = 4, E = 5, V = 6, OUT = 7, MODE = 8;
// locals
const P = 9, KB = 10, O = [11, 12, 13, 14], A = [15, 16, 17, 18], X = 19, W = [20, 21, 22, 23], C = 24;

/** y-row pointer of entry p + j into local O[j]: Y + idx[p + j]·fb. */
function rowPtr(j: number): number[] {
  return [...op.get(IDX), ...op.get(P), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.i32Load(4 * j), ...op.get(FB), ...op.i32Mul, ...op.get(Y), ...op.i32Add, ...op.set(O[j])];
}

/** w_j from the dot accumulator A[j] and conf[p + j], honouring the mode. */
function weight(j: number): number[] {
  return [
    ...op.get(CONF), ...op.get(P), ...op.i32Const(3), ...op.i32Shl, ...op.i32Add, ...op.f64Load(8 * j), ...op.set(C),
    ...op.get(C), ...op.f64Const1, ...op.f64Sub,
    ...op.get(A[j]), ...op.f64x2Lane(0), ...op.get(A[j]), ...op.f64x2Lane(1), ...op.f64Add,
    ...op.f64Mul, ...op.set(W[j]),
    ...op.get(MODE), ...op.if, ...op.get(C), ...op.get(W[j]), ...op.f64Sub, ...op.set(W[j]), ...op.end,
  ];
}

/** Processes `m` (4 or 1) entries starting at p: dot loop, weights, update loop. */
function group(m: number): number[] {
  const js = Array.from({ length: m }, (_, j) => j);
  const kbPlus = (i: number): number[] => [...op.get(i), ...op.get(KB), ...op.i32Add];
  return [
    ...js.flatMap(rowPtr),
    ...js.flatMap((j) => [...op.v128Zero, ...op.set(A[j])]),
    ...op.i32Const(0), ...op.set(KB),
    ...op.loop,
    ...kbPlus(V), ...op.v128Load, ...op.set(X),
    ...js.flatMap((j) => [...op.get(A[j]), ...kbPlus(O[j]), ...op.v128Load, ...op.get(X), ...op.f64x2Mul, ...op.f64x2Add, ...op.set(A[j])]),
    ...op.get(KB), ...op.i32Const(16), ...op.i32Add, ...op.tee(KB), ...op.get(FB), ...op.i32LtS, ...op.brIf(0),
    ...op.end,
    ...js.flatMap(weight),
    ...js.flatMap((j) => [...op.get(W[j]), ...op.f64x2Splat, ...op.set(A[j])]),
    ...op.i32Const(0), ...op.set(KB),
    ...op.loop,
    ...kbPlus(OUT),
    ...kbPlus(OUT), ...op.v128Load,
    ...js.flatMap((j) => [...op.get(A[j]), ...kbPlus(O[j]), ...op.v128Load, ...op.f64x2Mul, ...op.f64x2Add]),
    ...op.v128Store,
    ...op.get(KB), ...op.i32Const(16), ...op.i32Add, ...op.tee(KB), ...op.get(FB), ...op.i32LtS, ...op.brIf(0),
    ...op.end,
    ...op.get(P), ...op.i32Const(m), ...op.i32Add, ...op.set(P),
  ];
}

function passBody(): number[] {
  return [
    ...op.get(S), ...op.set(P),
    // groups of four entries
    ...op.block, ...op.loop,
    ...op.get(P), ...op.i32Const(4), ...op.i32Add, ...op.get(E), ...op.i32GtS, ...op.brIf(1),
    ...group(4),
    ...op.br(0),
    ...op.end, ...op.end,
    // the rest one at a time
    ...op.block, ...op.loop,
    ...op.get(P), ...op.get(E), ...op.i32GeS, ...op.brIf(1),
    ...group(1),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.end,
  ];
}

/**
 * accum(W, offs, vals, m, C, cb): C[0 .. cb/8) += Σ_{q<m} vals[q] · W_row(q), where W holds
 * float32 rows and offs[q] is row q's byte offset from W. Two columns per step (f32 pairs promoted
 * to f64x2), four rows per pass over C. cb must be a positive multiple of 16. The unweighted
 * variant (`accum1`, binary histories) skips the multiplications.
 */
function accumBody(weighted: boolean): number[] {
  // params: 0 W, 1 offs, 2 vals, 3 m, 4 C, 5 cb; locals: 6 q, 7 jb, 8 wb, 9..12 o, 13..16 s (v128), 17 acc (v128)
  const [W, OFFS, VALS, M, CC, CB, Q, JB, WB] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const o = [9, 10, 11, 12];
  const sp = [13, 14, 15, 16];
  const ACC = 17;
  const rows = (m: number): number[] => {
    const js = Array.from({ length: m }, (_, j) => j);
    return [
      ...js.flatMap((j) => [...op.get(OFFS), ...op.get(Q), ...op.i32Const(2), ...op.i32Shl, ...op.i32Add, ...op.i32Load(4 * j), ...op.get(W), ...op.i32Add, ...op.set(o[j])]),
      ...js.flatMap((j) => [...op.get(VALS), ...op.get(Q), ...op.i32Const(3), ...op.i32Shl, ...op.i32Add, ...op.f64Load(8 * j), ...op.f64x2Splat, ...op.set(sp[j])]),
      ...op.i32Const(0), ...op.set(JB),
      ...op.i32Const(0), ...op.set(WB),
      ...op.loop,
      ...op.get(CC), ...op.get(JB), ...op.i32Add,
      ...op.get(CC), ...op.get(JB), ...op.i32Add, ...op.v128Load, ...op.set(ACC),
      ...js.flatMap((j) => [...op.get(ACC), ...op.get(o[j]), ...op.get(WB), ...op.i32Add, ...op.v128Load64Zero, ...op.f64x2PromoteLow, ...(weighted ? [...op.get(sp[j]), ...op.f64x2Mul] : []), ...op.f64x2Add, ...op.set(ACC)]),
      ...op.get(ACC), ...op.v128Store,
      ...op.get(WB), ...op.i32Const(8), ...op.i32Add, ...op.set(WB),
      ...op.get(JB), ...op.i32Const(16), ...op.i32Add, ...op.tee(JB), ...op.get(CB), ...op.i32LtS, ...op.brIf(0),
      ...op.end,
      ...op.get(Q), ...op.i32Const(m), ...op.i32Add, ...op.set(Q),
    ];
  };
  return [
    ...op.i32Const(0), ...op.set(Q),
    ...op.block, ...op.loop,
    ...op.get(Q), ...op.i32Const(4), ...op.i32Add, ...op.get(M), ...op.i32GtS, ...op.brIf(1),
    ...rows(4),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.block, ...op.loop,
    ...op.get(Q), ...op.get(M), ...op.i32GeS, ...op.brIf(1),
    ...rows(1),
    ...op.br(0),
    ...op.end, ...op.end,
    ...op.end,
  ];
}

/**
 * gemm(C, ldcb, A, B, kb, m, n): C[i, j] += Σ_k A[i, k]·B[j, k] for packed row-major A (m × K)
 * and B (n × K) with row length kb bytes (K even), C with row stride ldcb bytes; m and n multiples
 * of 3. A 3×3 register tile of f64x2 accumulators (two k per step), summed across lanes at the end.
 */
function gemmBody(): number[] {
  // params: 0 C, 1 ldcb, 2 A, 3 B, 4 kb, 5 m, 6 n; locals i32: 7 i, 8 j, 9 k, 10..12 a, 13..15 b, 16 c; v128: 17..25 acc, 26..28 x, 29 y
  const [CC, LDC, AA, BB, KB2, M, N, I, J, K] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const a = [10, 11, 12];
  const b = [13, 14, 15];
  const CP = 16;
  const acc = (r: number, c: number): number => 17 + r * 3 + c;
  const x = [26, 27, 28];
  const Yv = 29;
  const three = [0, 1, 2];
  const store = (r: number, c: number): number[] => [
    ...op.get(CP), ...op.get(CP), ...op.f64Load(8 * c),
    ...op.get(acc(r, c)), ...op.f64x2Lane(0), ...op.get(acc(r, c)), ...op.f64x2Lane(1), ...op.f64Add,
    ...op.f64Add, ...op.f64Store(8 * c),
  ];
  return [
    ...op.i32Const(0), ...op.set(I),
    ...op.loop,
    ...op.get(AA), ...op.get(I), ...op.get(KB2), ...op.i32Mul, ...op.i32Add, ...op.set(a[0]),
    ...op.get(a[0]), ...op.get(KB2), ...op.i32Add, ...op.set(a[1]),
    ...op.get(a[1]), ...op.get(KB2), ...op.i32Add, ...op.set(a[2]),
    ...op.i32Const(0), ...op.set(J),
    ...op.loop,
    ...op.get(BB), ...op.get(J), ...op.get(KB2), ...op.i32Mul, ...op.i32Add, ...op.set(b[0]),
    ...op.get(b[0]), ...op.get(KB2), ...op.i32Add, ...op.set(b[1]),
    ...op.get(b[1]), ...op.get(KB2), ...op.i32Add, ...op.set(b[2]),
    ...three.flatMap((r) => three.flatMap((c) => [...op.v128Zero, ...op.set(acc(r, c))])),
    ...op.i32Const(0), ...op.set(K),
    ...op.loop,
    ...three.flatMap((r) => [...op.get(a[r]), ...op.get(K), ...op.i32Add, ...op.v128Load, ...op.set(x[r])]),
    ...three.flatMap((c) => [
      ...op.get(b[c]), ...op.get(K), ...op.i32Add, ...op.v128Load, ...op.set(Yv),
      ...three.flatMap((r) => [...op.get(acc(r, c)), ...op.get(x[r]), ...op.get(Yv), ...op.f64x2Mul, ...op.f64x2Add, ...op.set(acc(r, c))]),
    ]),
    ...op.get(K), ...op.i32Const(16), ...op.i32Add, ...op.tee(K), ...op.get(KB2), ...op.i32LtS, ...op.brIf(0),
    ...op.end,
    ...op.get(CC), ...op.get(I), ...op.get(LDC), ...op.i32Mul, ...op.i32Add, ...op.get(J), ...op.i32Const(3), ...op.i32Shl, ...op.i32Add, ...op.set(CP),
    ...three.flatMap((c) => store(0, c)),
    ...op.get(CP), ...op.get(LDC), ...op.i32Add, ...op.set(CP),
    ...three.flatMap((c) => store(1, c)),
    ...op.get(CP), ...op.get(LDC), ...op.i32Add, ...op.set(CP),
    ...three.flatMap((c) => store(2, c)),
    ...op.get(J), ...op.i32Const(3), ...op.i32Add, ...op.tee(J), ...op.get(N), ...op.i32LtS, ...op.brIf(0),
    ...op.end,
    ...op.get(I), ...op.i32Const(3), ...op.i32Add, ...op.tee(I), ...op.get(M), ...op.i32LtS, ...op.brIf(0),
    ...op.end,
    ...op.end,
  ];
}

function buildModule(): Uint8Array {
  const fn = (locals: number[][], body: number[]): number[] => {
    const code = [...vec(locals), ...body];
    return [...uleb(code.length), ...code];
  };
  const passCode = fn([[...uleb(6), I32], [...uleb(5), V128], [...uleb(5), F64]], passBody());
  const accumCode = fn([[...uleb(7), I32], [...uleb(5), V128]], accumBody(true));
  const accum1Code = fn([[...uleb(7), I32], [...uleb(5), V128]], accumBody(false));
  const gemmCode = fn([[...uleb(10), I32], [...uleb(13), V128]], gemmBody());
  const ftype = (n: number): number[] => [0x60, ...vec(new Array(n).fill([I32])), ...vec([])];
  const enc = (s: string): number[] => [...uleb(s.length), ...Array.from(Buffer.from(s, "utf8"))];
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec([ftype(9), ftype(6), ftype(7)])),
    ...section(2, vec([[...enc("env"), ...enc("mem"), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0], [1], [2], [1]])),
    ...section(7, vec([[...enc("pass"), 0x00, 0], [...enc("accum"), 0x00, 1], [...enc("gemm"), 0x00, 2], [...enc("accum1"), 0x00, 3]])),
    ...section(10, vec([passCode, accumCode, gemmCode, accum1Code])),
  ]);
}

/** The slice of the WebAssembly JS API used here (the project's TS lib has no DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (mod: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number }) => WasmMemory;
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

type PassFn = (y: number, fb: number, idx: number, conf: number, s: number, e: number, v: number, out: number, mode: number) => void;

let compiled: object | null | undefined;

function moduleOrNull(): object | null {
  if (compiled === undefined) {
    try {
      const bytes = buildModule();
      compiled = !WA || process.env.NTG_NO_WASM === "1" || !WA.validate(bytes) ? null : new WA.Module(bytes);
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** true when the SIMD kernel is in use on this platform (NTG_NO_WASM=1 turns it off). */
export function simdAvailable(): boolean {
  return moduleOrNull() !== null;
}

type AccumFn = (w: number, offs: number, vals: number, m: number, c: number, cb: number) => void;
type GemmFn = (c: number, ldcb: number, a: number, b: number, kb: number, m: number, n: number) => void;

/** One instance of the module with its own (private, growable) linear memory. */
class Arena {
  private readonly mem: WasmMemory;
  readonly exports: Record<string, unknown>;
  f64: Float64Array;
  f32: Float32Array;
  i32: Int32Array;

  constructor(mod: object) {
    const api = WA as WasmApi;
    this.mem = new api.Memory({ initial: 1 });
    this.exports = new api.Instance(mod, { env: { mem: this.mem } }).exports;
    this.f64 = new Float64Array(this.mem.buffer);
    this.f32 = new Float32Array(this.mem.buffer);
    this.i32 = new Int32Array(this.mem.buffer);
  }

  /** Grows the memory to at least `bytes` (views are refreshed; contents kept). */
  ensure(bytes: number): void {
    const have = this.mem.buffer.byteLength;
    if (bytes > have) {
      this.mem.grow(Math.ceil((bytes - have) / 65536));
      this.f64 = new Float64Array(this.mem.buffer);
      this.f32 = new Float32Array(this.mem.buffer);
      this.i32 = new Int32Array(this.mem.buffer);
    }
  }
}

/** Linear memory a thread may use for one engine (wasm32 tops out at 4 GB). */
const MAX_ARENA = 1.5 * 2 ** 30;

/**
 * Item–item scoring engine: a private copy of the float32 weight matrix W (rows padded to an even
 * length), and a block of float64 score rows accumulated by `accum`.
 *   layout: [W: 4·n·nPad][C: 8·rows·nPad][offsets: 4·cap][values: 8·cap]
 */
export class AccumEngine {
  private readonly arena: Arena;
  private readonly fn: AccumFn;
  private readonly fn1: AccumFn;
  private wKey = -1;
  n = 0;
  nPad = 0;
  private rows = 0;
  private cap = 0;

  private constructor(mod: object) {
    this.arena = new Arena(mod);
    this.fn = this.arena.exports.accum as AccumFn;
    this.fn1 = this.arena.exports.accum1 as AccumFn;
  }

  /** This thread's engine, or null without SIMD. */
  static forThread(): AccumEngine | null {
    if (scalarOnly) return null;
    if (accumEngine === undefined) {
      const mod = moduleOrNull();
      accumEngine = mod ? new AccumEngine(mod) : null;
    }
    return accumEngine;
  }

  private get cOff(): number {
    return 4 * this.n * this.nPad;
  }
  private get offsOff(): number {
    return this.cOff + 8 * this.rows * this.nPad;
  }
  private get valsOff(): number {
    return this.offsOff + 4 * this.cap + ((4 * this.cap) % 8);
  }

  /** Copies W (n × n) in unless `key` is already loaded; false when it would not fit. */
  loadW(W: Float32Array, n: number, key: number): boolean {
    if (key === this.wKey && n === this.n) return true;
    const nPad = n + (n % 2);
    if (4 * n * nPad > MAX_ARENA) return false;
    this.n = n;
    this.nPad = nPad;
    this.rows = 0;
    this.cap = 0;
    this.arena.ensure(this.cOff);
    const f32 = this.arena.f32;
    for (let i = 0; i < n; i++) {
      f32.set(W.subarray(i * n, i * n + n), i * nPad);
      if (nPad > n) f32[i * nPad + n] = 0;
    }
    this.wKey = key;
    return true;
  }

  /** Makes room for `rows` score rows and `entries` history entries; zeroes the score rows. */
  prepare(rows: number, entries: number): void {
    if (rows > this.rows || entries > this.cap) {
      this.rows = Math.max(rows, this.rows);
      this.cap = Math.max(entries, 2 * this.cap, 1024);
      this.arena.ensure(this.valsOff + 8 * this.cap);
    }
    this.arena.f64.fill(0, this.cOff / 8, this.cOff / 8 + rows * this.nPad);
  }

  /** Writes history entry q (item i, value v) for the next accumulate calls. */
  setEntry(q: number, item: number, v: number): void {
    this.arena.i32[this.offsOff / 4 + q] = 4 * item * this.nPad;
    this.arena.f64[this.valsOff / 8 + q] = v;
  }

  /**
   * Score row r, columns [t0, t1) (even, t1 ≤ nPad) += Σ over entries [q0, q1) of v·W[item];
   * `ones`: every v is 1 (binary history), so the multiplications are skipped.
   */
  accumulate(r: number, q0: number, q1: number, t0: number, t1: number, ones = false): void {
    if (q1 <= q0 || t1 <= t0) return;
    (ones ? this.fn1 : this.fn)(4 * t0, this.offsOff + 4 * q0, this.valsOff + 8 * q0, q1 - q0, this.cOff + 8 * (r * this.nPad + t0), 8 * (t1 - t0));
  }

  /** The score rows (view + offset of row r; row stride nPad). */
  scores(r: number): [Float64Array, number] {
    return [this.arena.f64, this.cOff / 8 + r * this.nPad];
  }
}

/**
 * Dense product engine: packs k-panels of A and B (rows padded to multiples of 3, k to even) and
 * runs the 3×3 f64x2 tile kernel. layout: [A: 8·mPad·kc][B: 8·nPad·kc][C: 8·mPad·nPad]
 */
export class GemmEngine {
  private readonly arena: Arena;
  private readonly fn: GemmFn;

  private constructor(mod: object) {
    this.arena = new Arena(mod);
    this.fn = this.arena.exports.gemm as GemmFn;
  }

  /** This thread's engine, or null without SIMD. */
  static forThread(): GemmEngine | null {
    if (scalarOnly) return null;
    if (gemmEngine === undefined) {
      const mod = moduleOrNull();
      gemmEngine = mod ? new GemmEngine(mod) : null;
    }
    return gemmEngine;
  }

  /** C[i,j] += alpha · Σ_k A[i,k]·B[j,k] (the `gemmNT` contract), k-panels of `kc`. */
  gemmNT(C: Float64Array, cOff: number, ldc: number, A: Float64Array, aOff: number, lda: number, B: Float64Array, bOff: number, ldb: number, m: number, n: number, K: number, alpha: number, kc: number): void {
    const mPad = Math.ceil(m / 3) * 3;
    const nPad = Math.ceil(n / 3) * 3;
    const kcMax = Math.min(kc, K) + (Math.min(kc, K) % 2);
    const aBytes = 8 * mPad * kcMax;
    const bBytes = 8 * nPad * kcMax;
    const cStart = aBytes + bBytes;
    this.arena.ensure(cStart + 8 * mPad * nPad);
    const mem = this.arena.f64;
    const bBase = aBytes / 8;
    const cBase = cStart / 8;
    // only C needs zeroing: padding rows of A/B (whatever they hold) feed C entries that are ignored
    mem.fill(0, cBase, cBase + mPad * nPad);
    for (let k0 = 0; k0 < K; k0 += kc) {
      const kb = Math.min(kc, K - k0);
      const kp = kb + (kb % 2);
      for (let i = 0; i < m; i++) {
        const src = aOff + i * lda + k0;
        mem.set(A.subarray(src, src + kb), i * kp);
        if (kp > kb) mem[i * kp + kb] = 0;
      }
      for (let j = 0; j < n; j++) {
        const src = bOff + j * ldb + k0;
        mem.set(B.subarray(src, src + kb), bBase + j * kp);
        if (kp > kb) mem[bBase + j * kp + kb] = 0;
      }
      this.fn(cStart, 8 * nPad, 0, aBytes, 8 * kp, mPad, nPad);
    }
    for (let i = 0; i < m; i++) {
      const c = cOff + i * ldc;
      const w = cBase + i * nPad;
      for (let j = 0; j < n; j++) C[c + j] += alpha * mem[w + j];
    }
  }
}

/**
 * One thread's SIMD sparse-pass engine: a private linear memory laid out as
 *   [Y: 8·rows·f][v: 8f][out: 8f][chunk indices: 4·cap][chunk confidences: 8·cap].
 */
export class SparsePassEngine {
  private readonly mem: WasmMemory;
  private readonly passFn: PassFn;
  private f64: Float64Array;
  private i32: Int32Array;
  private yKey = -1;
  private yBytes = 0;
  private f = 0;
  private cap = 0;

  private constructor(mod: object) {
    const api = WA as WasmApi;
    this.mem = new api.Memory({ initial: 1 });
    const inst = new api.Instance(mod, { env: { mem: this.mem } });
    this.passFn = inst.exports.pass as PassFn;
    this.f64 = new Float64Array(this.mem.buffer);
    this.i32 = new Int32Array(this.mem.buffer);
  }

  /** This thread's engine, or null when WebAssembly SIMD is unavailable (or NTG_NO_WASM=1). */
  static forThread(): SparsePassEngine | null {
    if (scalarOnly) return null;
    if (engine !== undefined) return engine;
    const mod = moduleOrNull();
    engine = mod ? new SparsePassEngine(mod) : null;
    return engine;
  }

  private ensure(bytes: number): void {
    const have = this.mem.buffer.byteLength;
    if (bytes > have) {
      this.mem.grow(Math.ceil((bytes - have) / 65536));
      this.f64 = new Float64Array(this.mem.buffer);
      this.i32 = new Int32Array(this.mem.buffer);
    }
  }

  private get vOff(): number {
    return this.yBytes;
  }
  private get outOff(): number {
    return this.yBytes + 8 * this.f;
  }
  private get idxOff(): number {
    return this.yBytes + 16 * this.f;
  }
  private get confOff(): number {
    return this.idxOff + 4 * this.cap + ((4 * this.cap) % 8);
  }

  /** Copies the fixed side (rows × f) in, unless `key` says it is already there. */
  loadY(Yarr: Float64Array, f: number, key: number): void {
    if (key === this.yKey && f === this.f && Yarr.length * 8 === this.yBytes) return;
    this.f = f;
    this.yBytes = Yarr.length * 8;
    this.cap = 0;
    this.ensure(this.idxOff);
    this.f64.set(Yarr, 0);
    this.yKey = key;
  }

  /** Copies entries [s, e) of a row-ordered index/confidence array in (one chunk of rows). */
  loadEntries(indices: Int32Array, conf: Float64Array, s: number, e: number): void {
    const n = e - s;
    if (n > this.cap) {
      this.cap = Math.max(n, 2 * this.cap, 1024);
      this.ensure(this.confOff + 8 * this.cap);
    }
    this.i32.set(indices.subarray(s, e), this.idxOff / 4);
    this.f64.set(conf.subarray(s, e), this.confOff / 8);
  }

  /**
   * out[oOff..+f) += the pass over loaded entries [s, e) (relative to the last loadEntries start)
   * with vector v[vOff..+f).
   */
  pass(s: number, e: number, v: Float64Array, vOff: number, out: Float64Array, oOff: number, mode: number): void {
    const f = this.f;
    const vo = this.vOff / 8;
    const oo = this.outOff / 8;
    const mem = this.f64;
    for (let k = 0; k < f; k++) {
      mem[vo + k] = v[vOff + k];
      mem[oo + k] = out[oOff + k];
    }
    this.passFn(0, 8 * f, this.idxOff, this.confOff, s, e, this.vOff, this.outOff, mode);
    for (let k = 0; k < f; k++) out[oOff + k] = mem[oo + k];
  }
}

let engine: SparsePassEngine | null | undefined;
let accumEngine: AccumEngine | null | undefined;
let gemmEngine: GemmEngine | null | undefined;
let scalarOnly = false;

/** Forces the scalar JS kernels on this thread instead of the SIMD engines (tests compare the two). */
export function forceScalarKernels(on: boolean): void {
  scalarOnly = on;
}
