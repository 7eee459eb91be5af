import * as path from "node:path";
import { writeFileAtomic } from "../util/atomic";
import { InputError } from "../util/errors";
import { stableStringify } from "../util/stable-json";
import type { ExperimentAnalysis, MetricComparison } from "./analyse";

/**
 * Experiment reports: `experiment_<name>.json` (the whole analysis, key-sorted and rounded by
 * `stableStringify`, so the same analysis gives the same bytes) and `experiment_<name>.md` (the
 * readable summary), both written atomically so a reader never sees half a report.
 */

/** Paths of a written report. */
export interface WrittenReport {
  json: string;
  markdown: string;
}

function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return x > 0 ? "∞" : x < 0 ? "−∞" : "—";
  if (x !== 0 && (Math.abs(x) >= 1e6 || Math.abs(x) < 1e-4)) return x.toExponential(2);
  return Number(x.toPrecision(digits)).toString();
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(2)}%` : "—";
}

function interval(ci: [number, number], f: (x: number) => string = fmt): string {
  return `[${f(ci[0])}, ${f(ci[1])}]`;
}

function table(header: string[], rows: string[][]): string[] {
  const esc = (c: string): string => c.replace(/\|/g, "\\|");
  return [`| ${header.map(esc).join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`)];
}

function comparisonRow(c: MetricComparison): string[] {
  const e = c.absolute;
  return [
    c.metric,
    c.arm,
    fmt(c.controlMean),
    fmt(c.treatmentMean),
    fmt(e.estimate),
    interval(e.ci),
    c.relative ? `${pct(c.relative.estimate)} ${interval(c.relative.ci, pct)}` : "—",
    fmt(e.pValue),
    `${fmt(e.pAdjusted)}${e.significant ? " ✱" : ""}`,
  ];
}

/** The Markdown report of an analysis. */
export function renderExperimentMarkdown(a: ExperimentAnalysis): string {
  const s = a.spec;
  const out: string[] = [];
  out.push(`# Experiment \`${a.name}\``, "");
  out.push(`**Overall decision: ${a.overall.decision.toUpperCase()}** — ${a.overall.summary}`, "");
  out.push("## Design", "");
  out.push(
    ...table(
      ["setting", "value"],
      [
        ["key / salt / hashing", `${s.key} / ${s.salt ?? "—"} / ${s.scheme}`],
        ["coverage", String(s.coverage)],
        ["layer", s.layer ? `${s.layer.id} [${s.layer.start}, ${s.layer.end})` : "—"],
        ["holdout", s.holdout ? `${s.holdout.key} (${pct(s.holdout.fraction)})` : "—"],
        ["arms (weight)", s.arms.map((x) => `${x.name}${x.name === s.control ? " (control)" : ""} ${x.weight}`).join(", ")],
        ["primary", `${s.primary.metric} (goal: ${s.primary.goal})`],
        ["guardrails", s.guardrails.length ? s.guardrails.map((g) => `${g.metric} ${g.direction} (tolerance ${g.tolerance} ${g.scale})`).join("; ") : "—"],
        ["alpha / correction", `${s.alpha} / ${s.correction}`],
        ["inference for the decision", s.sequential.enabled ? `sequential (confidence sequences${s.sequential.targetN ? `, tuned at N = ${s.sequential.targetN}` : ""})` : "fixed horizon"],
        ["ROI", `value/unit ${s.roi.valuePerUnit}, cost/user ${s.roi.costPerUser}, fixed cost ${s.roi.fixedCost}, population ${s.roi.population ?? "analysed users"}, basis ${s.roi.basis}`],
      ],
    ),
    "",
  );
  out.push("## Sample ratio", "");
  out.push(`${a.srm.mismatch ? "**SRM FAILED**" : "SRM passed"}: χ² = ${fmt(a.srm.chiSquare)} (df ${a.srm.df}), p = ${fmt(a.srm.pValue)}, threshold ${a.srm.threshold}.`, "");
  out.push(...table(["arm", "users", "share", "planned"], a.arms.map((x) => [x.arm, String(x.users), pct(x.share), pct(x.expectedShare)])), "");
  out.push("## Per-arm metrics", "");
  const metricNames = s.metrics.map((m) => m.name);
  out.push(
    ...table(
      ["metric", ...a.arms.map((x) => `${x.arm} mean (sd)`)],
      metricNames.map((m) => [m, ...a.arms.map((x) => `${fmt(x.metrics[m].mean)} (${fmt(x.metrics[m].sd)})`)]),
    ),
    "",
  );
  out.push("## Effects (fixed horizon)", "");
  out.push("Absolute effect = treatment − control (CUPED-adjusted when a covariate is set); ✱ = significant after the correction.", "");
  out.push(...table(["metric", "arm", "control", "treatment", "effect", "CI", "lift [CI]", "p", "p adj"], a.comparisons.map(comparisonRow)), "");
  const cuped = a.comparisons.filter((c) => c.cuped);
  if (cuped.length) {
    out.push("## CUPED", "");
    out.push(
      ...table(
        ["metric", "arm", "covariate", "θ", "variance reduction", "unadjusted effect [CI]", "adjusted effect [CI]"],
        cuped.map((c) => {
          const u = c.cuped as NonNullable<MetricComparison["cuped"]>;
          return [c.metric, c.arm, u.covariate, fmt(u.theta), pct(u.varianceReduction), `${fmt(u.unadjusted.estimate)} ${interval(u.unadjusted.ci)}`, `${fmt(c.absolute.estimate)} ${interval(c.absolute.ci)}`];
        }),
      ),
      "",
    );
  }
  const seq = a.comparisons.filter((c) => c.sequential);
  if (seq.length) {
    out.push("## Sequential (always valid)", "");
    out.push(
      ...table(
        ["metric", "arm", "effect", "confidence sequence", "p (always valid)", "p adj"],
        seq.map((c) => {
          const q = c.sequential as NonNullable<MetricComparison["sequential"]>;
          return [c.metric, c.arm, fmt(q.estimate), interval(q.ci), fmt(q.pValue), `${fmt(q.pAdjusted)}${q.significant ? " ✱" : ""}`];
        }),
      ),
      "",
    );
  }
  out.push("## Bayesian summary (flat prior, absolute effect)", "");
  out.push(
    ...table(
      ["metric", "arm", "posterior mean", "credible interval", "P(treatment better)", "loss if shipped", "loss if not"],
      a.comparisons.map((c) => [
        c.metric,
        c.arm,
        fmt(c.bayes.posteriorMean),
        interval(c.bayes.credibleInterval),
        pct(c.bayes.chanceToBeatControl),
        fmt(c.bayes.expectedLoss.chooseTreatment),
        fmt(c.bayes.expectedLoss.chooseControl),
      ]),
    ),
    "",
  );
  out.push("## Decisions", "");
  for (const d of a.decisions) {
    out.push(`### ${d.arm}: ${d.decision.toUpperCase()}`, "");
    out.push(`${d.summary} (${d.basis}; expected incremental revenue ${fmt(d.expectedIncrementalRevenue)} vs cost ${fmt(d.cost)} over ${fmt(d.population)} users)`, "");
    for (const c of d.checks) out.push(`- **${c.check}** ${c.name}: ${c.status} — ${c.reason}`);
    out.push("");
  }
  if (a.warnings.length) {
    out.push("## Warnings", "");
    for (const w of a.warnings) out.push(`- ${w}`);
    out.push("");
  }
  out.push("## Summary", "", "```", a.text, "```", "");
  return out.join("\n");
}

/**
 * Writes `experiment_<name>.json` and `experiment_<name>.md` into `dir` (created if needed),
 * each atomically (temp file + rename). Identical analyses give byte-identical files.
 * `appendix` is extra Markdown added at the end (e.g. the synthetic world's truth).
 */
export function writeExperimentReport(analysis: ExperimentAnalysis, dir: string, opts: { appendix?: string } = {}): WrittenReport {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(analysis.name)) throw new InputError(`experiment name '${analysis.name}' cannot be used in a file name`);
  const json = path.join(dir, `experiment_${analysis.name}.json`);
  const markdown = path.join(dir, `experiment_${analysis.name}.md`);
  writeFileAtomic(json, stableStringify(analysis));
  writeFileAtomic(markdown, opts.appendix ? `${renderExperimentMarkdown(analysis)}\n${opts.appendix}` : renderExperimentMarkdown(analysis));
  return { json, markdown };
}
