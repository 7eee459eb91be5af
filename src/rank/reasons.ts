/**
 * Short, template-based explanations (in the spirit of Tintarev & Masthoff 2007's "justification"
 * style): each recommended item is explained by the source that contributed most to its fused
 * score, using that source's evidence.
 */
import type { CandidateSource, TitleLookup } from "./types";

/** How reasons are worded. */
export interface ReasonOptions {
  titles?: TitleLookup;
  /** labels of the embedding's taste axes, by index; missing → "#<index>" */
  axisLabels?: readonly string[];
  /** verb of the history template (default "watched") */
  verb?: string;
}

/** The item's title, or "item <id>" when unknown. */
export function titleOf(titles: TitleLookup | undefined, item: number): string {
  let t: string | null | undefined;
  if (typeof titles === "function") t = titles(item);
  else if (titles instanceof Map) t = titles.get(item);
  else if (titles) t = (titles as ArrayLike<string | null | undefined>)[item];
  return t ? t : `item ${item}`;
}

/**
 * Reason text for `item` proposed by `source` with `evidence`: "because you <verb> <title of the
 * history item>", "close to your taste axis <label>", "popular now", or the source's own text.
 */
export function reasonText(source: CandidateSource, item: number, evidence: number, opts: ReasonOptions = {}): string {
  const custom = source.reason?.(item, evidence);
  if (custom) return custom;
  switch (source.kind) {
    case "history":
      return evidence >= 0 ? `because you ${opts.verb ?? "watched"} ${titleOf(opts.titles, evidence)}` : "similar to what you have seen";
    case "taste_axis":
      return evidence >= 0 ? `close to your taste axis ${opts.axisLabels?.[evidence] ?? `#${evidence}`}` : "close to your taste";
    case "popularity":
      return "popular now";
    default:
      return `suggested by ${source.name}`;
  }
}
