/**
 * Figures for notebook 01 (EDA) that need more than one plotting call. The activity-over-time
 * figure picks its time resolution from the span: a 20-year log plotted by day is a solid block
 * of ink, so long spans are shown by week or by month.
 */
import type { TemporalDensity } from "../data/eda";
import { lineChart, type Figure, type Series } from "../plot/figure";

/** Time resolution of {@link activityFigure}. */
export type ActivityResolution = "day" | "week" | "month";

/** The resolution that keeps an activity plot readable: days up to ~13 months, weeks up to 3 years, then months. */
export function activityResolution(days: number): ActivityResolution {
  if (days <= 400) return "day";
  if (days <= 3 * 365) return "week";
  return "month";
}

/** Activity per period: events (sum) and mean daily active users, with each period's first date. */
export interface ActivitySeries {
  resolution: ActivityResolution;
  dates: string[];
  events: number[];
  /** mean of the daily distinct-user counts over the period's days (null without user ids) */
  activeUsers: number[] | null;
}

/**
 * Resamples daily activity: "week" = consecutive 7-day blocks from the first day (as
 * `perWeek`), "month" = calendar months (UTC). Mean daily active users average over the days of
 * the period inside the data's span (distinct users over a week or month cannot be derived from
 * daily counts, so the figure says "mean per day").
 */
export function activitySeries(t: TemporalDensity, resolution: ActivityResolution = activityResolution(t.days)): ActivitySeries {
  if (resolution === "day") return { resolution, dates: [...t.dates], events: [...t.perDay], activeUsers: t.activeUsersPerDay ? [...t.activeUsersPerDay] : null };
  const keys: string[] = [];
  const events: number[] = [];
  const users: number[] = [];
  const days: number[] = [];
  t.dates.forEach((date, d) => {
    const key = resolution === "week" ? t.dates[d - (d % 7)] : `${date.slice(0, 7)}-01`;
    if (keys[keys.length - 1] !== key) {
      keys.push(key);
      events.push(0);
      users.push(0);
      days.push(0);
    }
    const k = keys.length - 1;
    events[k] += t.perDay[d];
    users[k] += t.activeUsersPerDay?.[d] ?? 0;
    days[k] += 1;
  });
  return { resolution, dates: keys, events, activeUsers: t.activeUsersPerDay ? users.map((u, k) => u / days[k]) : null };
}

/** Events and active users over time, at the resolution the span calls for (see {@link activityResolution}). */
export function activityFigure(t: TemporalDensity, opts: { resolution?: ActivityResolution; title?: string } = {}): Figure {
  const s = activitySeries(t, opts.resolution);
  const label = { day: "Daily", week: "Weekly", month: "Monthly" }[s.resolution];
  const unit = s.resolution === "day" ? "day (UTC)" : s.resolution === "week" ? "week (7-day blocks from the first day, UTC)" : "month (UTC)";
  const shape = s.resolution === "day" ? {} : { shape: "hv" };
  const series: Series[] = [{ name: "events", x: s.dates, y: s.events, ...shape }];
  if (s.activeUsers) {
    const name = s.resolution === "day" ? "active users (right axis)" : "mean daily active users (right axis)";
    series.push({ name, x: s.dates, y: s.activeUsers, ...shape, secondary: true });
  }
  return lineChart(series, {
    title: opts.title ?? `${label} activity`,
    xTitle: unit,
    yTitle: `events per ${s.resolution}`,
    y2Title: s.resolution === "day" ? "active users per day" : "mean daily active users",
  });
}
