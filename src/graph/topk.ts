/**
 * Bounded heaps on typed arrays for top-K selection: O(n log K) time, O(K) memory, no objects.
 * The heap keeps the worst retained candidate at its root, so most candidates are rejected by a
 * single comparison once the heap is full.
 */

/**
 * Top-K neighbours ordered by higher similarity, then higher co-occurrence, then lower item id:
 * a total order, so the selection is deterministic whatever order candidates arrive in.
 */
export class NeighbourHeap {
  readonly capacity: number;
  size = 0;
  private readonly sim: Float64Array;
  private readonly cooc: Int32Array;
  private readonly id: Int32Array;

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.sim = new Float64Array(this.capacity);
    this.cooc = new Int32Array(this.capacity);
    this.id = new Int32Array(this.capacity);
  }

  /** Empties the heap (keeps its storage). */
  clear(): void {
    this.size = 0;
  }

  /** a ranks strictly below b */
  private worse(sa: number, ca: number, ia: number, sb: number, cb: number, ib: number): boolean {
    if (sa !== sb) return sa < sb;
    if (ca !== cb) return ca < cb;
    return ia > ib;
  }

  /** Offers a candidate; returns false when it was rejected (heap full of better ones). */
  offer(s: number, c: number, j: number): boolean {
    if (this.capacity === 0) return false;
    if (this.size < this.capacity) {
      // sift up from the new leaf
      let k = this.size++;
      while (k > 0) {
        const parent = (k - 1) >> 1;
        if (!this.worse(s, c, j, this.sim[parent], this.cooc[parent], this.id[parent])) break;
        this.sim[k] = this.sim[parent];
        this.cooc[k] = this.cooc[parent];
        this.id[k] = this.id[parent];
        k = parent;
      }
      this.sim[k] = s;
      this.cooc[k] = c;
      this.id[k] = j;
      return true;
    }
    if (!this.worse(this.sim[0], this.cooc[0], this.id[0], s, c, j)) return false;
    this.siftDown(s, c, j, this.size);
    return true;
  }

  /** Places (s, c, j) at the root and sifts it down within the first n slots. */
  private siftDown(s: number, c: number, j: number, n: number): void {
    let k = 0;
    for (;;) {
      let child = 2 * k + 1;
      if (child >= n) break;
      const r = child + 1;
      if (r < n && this.worse(this.sim[r], this.cooc[r], this.id[r], this.sim[child], this.cooc[child], this.id[child])) child = r;
      if (!this.worse(this.sim[child], this.cooc[child], this.id[child], s, c, j)) break;
      this.sim[k] = this.sim[child];
      this.cooc[k] = this.cooc[child];
      this.id[k] = this.id[child];
      k = child;
    }
    this.sim[k] = s;
    this.cooc[k] = c;
    this.id[k] = j;
  }

  /**
   * Writes the retained candidates best-first into the output arrays at `offset` and empties the
   * heap; returns how many were written.
   */
  drainInto(ids: Int32Array, sims: Float32Array, coocs: Int32Array, offset: number): number {
    const n = this.size;
    // repeatedly move the worst (root) to the end of the output block
    for (let m = n; m > 0; m--) {
      const out = offset + m - 1;
      ids[out] = this.id[0];
      sims[out] = this.sim[0];
      coocs[out] = this.cooc[0];
      const last = m - 1;
      if (last > 0) this.siftDown(this.sim[last], this.cooc[last], this.id[last], last);
    }
    this.size = 0;
    return n;
  }
}

/**
 * Top-k items by higher score, then lower item id (the Recommender contract's tie-break).
 */
export class ScoreHeap {
  readonly capacity: number;
  size = 0;
  private readonly score: Float64Array;
  private readonly id: Int32Array;

  constructor(capacity: number) {
    this.capacity = Math.max(0, Math.floor(capacity));
    this.score = new Float64Array(this.capacity);
    this.id = new Int32Array(this.capacity);
  }

  /** Empties the heap. */
  clear(): void {
    this.size = 0;
  }

  private worse(sa: number, ia: number, sb: number, ib: number): boolean {
    return sa !== sb ? sa < sb : ia > ib;
  }

  /** Offers an item with its score. */
  offer(s: number, j: number): void {
    if (this.capacity === 0) return;
    if (this.size < this.capacity) {
      let k = this.size++;
      while (k > 0) {
        const parent = (k - 1) >> 1;
        if (!this.worse(s, j, this.score[parent], this.id[parent])) break;
        this.score[k] = this.score[parent];
        this.id[k] = this.id[parent];
        k = parent;
      }
      this.score[k] = s;
      this.id[k] = j;
      return;
    }
    if (!this.worse(this.score[0], this.id[0], s, j)) return;
    this.siftDown(s, j, this.size);
  }

  private siftDown(s: number, j: number, n: number): void {
    let k = 0;
    for (;;) {
      let child = 2 * k + 1;
      if (child >= n) break;
      const r = child + 1;
      if (r < n && this.worse(this.score[r], this.id[r], this.score[child], this.id[child])) child = r;
      if (!this.worse(this.score[child], this.id[child], s, j)) break;
      this.score[k] = this.score[child];
      this.id[k] = this.id[child];
      k = child;
    }
    this.score[k] = s;
    this.id[k] = j;
  }

  /** Writes the retained items best-first at `offset`; returns how many; empties the heap. */
  drainInto(ids: Int32Array, scores: Float32Array, offset: number): number {
    const n = this.size;
    for (let m = n; m > 0; m--) {
      const out = offset + m - 1;
      ids[out] = this.id[0];
      scores[out] = this.score[0];
      const last = m - 1;
      if (last > 0) this.siftDown(this.score[last], this.id[last], last);
    }
    this.size = 0;
    return n;
  }
}

/**
 * One bounded neighbour heap per item in flat typed arrays (capacity K each), for kernels that
 * discover each unordered pair once and offer it to both endpoints. `root` mirrors each full
 * heap's worst similarity in a compact array, so the common rejection touches one small, cached
 * array instead of the item's heap storage. Similarities are float32 values (exact in Float32Array).
 */
export class NeighbourHeaps {
  readonly nItems: number;
  readonly k: number;
  readonly size: Int32Array;
  readonly sim: Float32Array;
  readonly cooc: Int32Array;
  readonly id: Int32Array;
  /** worst retained similarity of a full heap; −Infinity while the heap has room */
  readonly root: Float64Array;

  constructor(nItems: number, k: number, storage?: { size: Int32Array; sim: Float32Array; cooc: Int32Array; id: Int32Array }) {
    this.nItems = nItems;
    this.k = k;
    this.size = storage?.size ?? new Int32Array(nItems);
    this.sim = storage?.sim ?? new Float32Array(nItems * k);
    this.cooc = storage?.cooc ?? new Int32Array(nItems * k);
    this.id = storage?.id ?? new Int32Array(nItems * k);
    this.root = new Float64Array(nItems).fill(-Infinity);
    if (storage) for (let o = 0; o < nItems; o++) if (this.size[o] === k && k > 0) this.root[o] = this.sim[o * k];
  }

  /** Offers neighbour `j` (similarity s, co-occurrence c) to item `o`'s heap. */
  offer(o: number, s: number, c: number, j: number): void {
    const k = this.k;
    const n = this.size[o];
    const base = o * k;
    const sim = this.sim;
    const cooc = this.cooc;
    const id = this.id;
    if (n < k) {
      let pos = n;
      this.size[o] = n + 1;
      while (pos > 0) {
        const parent = (pos - 1) >> 1;
        const ps = sim[base + parent];
        const pc = cooc[base + parent];
        // stop once the parent ranks below the new entry (min-heap of "worst first")
        if (ps < s || (ps === s && (pc < c || (pc === c && id[base + parent] > j)))) break;
        sim[base + pos] = ps;
        cooc[base + pos] = pc;
        id[base + pos] = id[base + parent];
        pos = parent;
      }
      sim[base + pos] = s;
      cooc[base + pos] = c;
      id[base + pos] = j;
      if (n + 1 === k) this.root[o] = sim[base];
      return;
    }
    if (k === 0) return;
    const r = this.root[o];
    if (s < r) return;
    if (s === r) {
      const rc = cooc[base];
      if (c < rc || (c === rc && j > id[base])) return;
    }
    // replace the root and sift down
    let pos = 0;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= k) break;
      const rr = child + 1;
      if (rr < k) {
        const a = sim[base + rr];
        const b = sim[base + child];
        if (a < b || (a === b && (cooc[base + rr] < cooc[base + child] || (cooc[base + rr] === cooc[base + child] && id[base + rr] > id[base + child])))) child = rr;
      }
      const cs = sim[base + child];
      const cc = cooc[base + child];
      if (!(cs < s || (cs === s && (cc < c || (cc === c && id[base + child] > j))))) break;
      sim[base + pos] = cs;
      cooc[base + pos] = cc;
      id[base + pos] = id[base + child];
      pos = child;
    }
    sim[base + pos] = s;
    cooc[base + pos] = c;
    id[base + pos] = j;
    this.root[o] = sim[base];
  }

  /** Offers every entry of another heap set (e.g. another thread's) to this one. */
  mergeFrom(other: NeighbourHeaps): void {
    for (let o = 0; o < this.nItems; o++) {
      const base = o * other.k;
      for (let t = 0; t < other.size[o]; t++) this.offer(o, other.sim[base + t], other.cooc[base + t], other.id[base + t]);
    }
  }

  /**
   * Drains every heap best-first into CSR arrays (row lengths in `rowLength`); returns the total
   * number of entries.
   */
  drainAll(): { rowLength: Int32Array; neighbours: Int32Array; similarity: Float32Array; cooc: Int32Array } {
    let total = 0;
    for (let o = 0; o < this.nItems; o++) total += this.size[o];
    const rowLength = new Int32Array(this.nItems);
    const neighbours = new Int32Array(total);
    const similarity = new Float32Array(total);
    const cooc = new Int32Array(total);
    const tmp = new NeighbourHeap(this.k);
    let out = 0;
    for (let o = 0; o < this.nItems; o++) {
      const base = o * this.k;
      const n = this.size[o];
      for (let t = 0; t < n; t++) tmp.offer(this.sim[base + t], this.cooc[base + t], this.id[base + t]);
      rowLength[o] = tmp.drainInto(neighbours, similarity, cooc, out);
      out += n;
    }
    return { rowLength, neighbours, similarity, cooc };
  }
}
