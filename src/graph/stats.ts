/**
 * Structural statistics of a neighbour graph: degree distributions (log₂-binned histograms),
 * connected components by union-find (edges taken as undirected), isolated items.
 */

/** A degree distribution: summary figures plus a histogram with bins 0, 1, 2–3, 4–7, … */
export interface DegreeSummary {
  min: number;
  max: number;
  mean: number;
  median: number;
  histogram: {
    /** inclusive lower bound of each bin */
    lower: number[];
    /** inclusive upper bound of each bin */
    upper: number[];
    count: number[];
  };
}

/** Graph structure figures. */
export interface GraphStructure {
  /** stored directed entries (item → neighbour) */
  edges: number;
  /** distinct unordered item pairs joined by at least one entry */
  undirectedEdges: number;
  /** pairs stored in both directions */
  reciprocalEdges: number;
  /** neighbours per item (row lengths) */
  outDegree: DegreeSummary;
  /** how often each item appears as someone's neighbour (hubness) */
  inDegree: DegreeSummary;
  /** connected components among items with at least one edge */
  components: number;
  /** items in the largest component (0 when there are no edges) */
  largestComponent: number;
  /** items with no edge in either direction */
  isolatedItems: number;
  /** items whose own neighbour list is empty */
  itemsWithoutNeighbours: number;
}

/** Summary and log₂-binned histogram of integer degrees. */
export function degreeSummary(deg: Int32Array): DegreeSummary {
  const n = deg.length;
  if (n === 0) return { min: 0, max: 0, mean: 0, median: 0, histogram: { lower: [], upper: [], count: [] } };
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = deg[i];
    if (d < min) min = d;
    if (d > max) max = d;
    sum += d;
  }
  const sorted = Int32Array.from(deg).sort();
  const median = n % 2 ? sorted[(n - 1) >> 1] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  const nBins = binOf(max) + 1;
  const count = new Array<number>(nBins).fill(0);
  for (let i = 0; i < n; i++) count[binOf(deg[i])]++;
  const lower: number[] = [];
  const upper: number[] = [];
  for (let b = 0; b < nBins; b++) {
    lower.push(b === 0 ? 0 : 2 ** (b - 1));
    upper.push(b === 0 ? 0 : 2 ** b - 1);
  }
  return { min, max, mean: sum / n, median, histogram: { lower, upper, count } };
}

/** bin 0 holds degree 0; bin b ≥ 1 holds [2^(b−1), 2^b − 1] */
function binOf(d: number): number {
  return d <= 0 ? 0 : 32 - Math.clz32(d);
}

/** Union-find on typed arrays: path halving plus union by size, near-linear overall. */
export class UnionFind {
  readonly parent: Int32Array;
  readonly size: Int32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    this.size = new Int32Array(n).fill(1);
    for (let i = 0; i < n; i++) this.parent[i] = i;
  }
  /** Root of x's set. */
  find(x: number): number {
    const p = this.parent;
    while (p[x] !== x) {
      p[x] = p[p[x]];
      x = p[x];
    }
    return x;
  }
  /** Merges the sets of a and b; returns false when they were already one. */
  union(a: number, b: number): boolean {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return false;
    // the lower root id wins ties so the structure does not depend on edge order more than needed
    if (this.size[ra] < this.size[rb] || (this.size[ra] === this.size[rb] && rb < ra)) {
      const t = ra;
      ra = rb;
      rb = t;
    }
    this.parent[rb] = ra;
    this.size[ra] += this.size[rb];
    return true;
  }
}

/** Degree, reciprocity and component figures of a CSR neighbour graph over `nItems` items. */
export function graphStructure(nItems: number, indptr: Int32Array, neighbours: Int32Array): GraphStructure {
  const outDeg = new Int32Array(nItems);
  const inDeg = new Int32Array(nItems);
  const uf = new UnionFind(nItems);
  for (let i = 0; i < nItems; i++) {
    outDeg[i] = indptr[i + 1] - indptr[i];
    for (let p = indptr[i]; p < indptr[i + 1]; p++) {
      const j = neighbours[p];
      inDeg[j]++;
      uf.union(i, j);
    }
  }
  // unordered pair keys, sorted, to count distinct and reciprocal pairs without a hash map
  const m = neighbours.length;
  const keys = new Float64Array(m);
  for (let i = 0, q = 0; i < nItems; i++) {
    for (let p = indptr[i]; p < indptr[i + 1]; p++, q++) {
      const j = neighbours[p];
      keys[q] = i < j ? i * nItems + j : j * nItems + i;
    }
  }
  keys.sort();
  let undirected = 0;
  let reciprocal = 0;
  for (let q = 0; q < m; q++) {
    if (q === 0 || keys[q] !== keys[q - 1]) undirected++;
    else reciprocal++;
  }
  let components = 0;
  let largest = 0;
  let isolated = 0;
  let noNeighbours = 0;
  for (let i = 0; i < nItems; i++) {
    if (outDeg[i] === 0) noNeighbours++;
    if (outDeg[i] === 0 && inDeg[i] === 0) {
      isolated++;
      continue;
    }
    if (uf.find(i) === i) {
      components++;
      if (uf.size[i] > largest) largest = uf.size[i];
    }
  }
  return {
    edges: m,
    undirectedEdges: undirected,
    reciprocalEdges: reciprocal,
    outDegree: degreeSummary(outDeg),
    inDegree: degreeSummary(inDeg),
    components,
    largestComponent: largest,
    isolatedItems: isolated,
    itemsWithoutNeighbours: noNeighbours,
  };
}

/** Component label per item (the smallest item id in its component; isolated items label themselves). */
export function componentLabels(nItems: number, indptr: Int32Array, neighbours: Int32Array): Int32Array {
  const uf = new UnionFind(nItems);
  for (let i = 0; i < nItems; i++) for (let p = indptr[i]; p < indptr[i + 1]; p++) uf.union(i, neighbours[p]);
  const minOf = new Int32Array(nItems).fill(-1);
  const label = new Int32Array(nItems);
  for (let i = 0; i < nItems; i++) {
    const r = uf.find(i);
    if (minOf[r] < 0) minOf[r] = i;
    label[i] = minOf[r];
  }
  return label;
}
