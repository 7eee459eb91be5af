/**
 * The MovieLens datasets and split protocols the ranking scripts run (ranking-experiments.ts with
 * default hyper-parameters, ranking-tuned.ts with val-selected ones): `--set` overrides per protocol.
 */

/** One split protocol: a name and the config overrides that select it. */
export interface RankingProtocol {
  name: string;
  sets: string[];
}

/** A dataset under ../shared/data with its config and protocols. */
export interface RankingDataset {
  name: string;
  config: string;
  /** folder under <shared>/data */
  dir: string;
  protocols: RankingProtocol[];
}

export const RANKING_DATASETS: RankingDataset[] = [
  {
    name: "ml-100k",
    config: "configs/ml-100k.yaml",
    dir: "movielens/ml-100k",
    protocols: [
      { name: "per_user_chronological", sets: ["split.strategy=per_user_chronological"] },
      { name: "leave_last_out", sets: ["split.strategy=leave_last_out", "split.min_user_interactions=3"] },
      { name: "global_time", sets: ["split.strategy=global_time", "split.cutoffs.val_start=1998-03-01", "split.cutoffs.test_start=1998-03-25"] },
      // RecBole's protocol: ratings >= 3, random 80/10/10 per user (not leakage-safe; for comparison only)
      { name: "random_recbole", sets: ["split.strategy=random", "split.random.group_by_user=true", "split.min_rating=3"] },
    ],
  },
  {
    name: "ml-latest-small",
    config: "configs/ml-latest-small.yaml",
    dir: "movielens/ml-latest-small",
    protocols: [
      { name: "per_user_chronological", sets: ["split.strategy=per_user_chronological"] },
      { name: "leave_last_out", sets: ["split.strategy=leave_last_out", "split.min_user_interactions=3"] },
      { name: "strong_generalization", sets: ["split.strategy=strong_generalization", "split.min_rating=4", "split.heldout.users=0.1"] },
    ],
  },
];
