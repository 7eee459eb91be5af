/**
 * The model registry: every recommender kind by name, construction from a (partial) config, and
 * loading a saved model directory by the kind recorded in its model.json.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, NtgError } from "../util/errors";
import { Bpr, type BprConfig } from "./models/bpr";
import { Ease, type EaseConfig } from "./models/ease";
import { Ials, type IalsConfig } from "./models/ials";
import { ItemKnn, type ItemKnnConfig } from "./models/itemknn";
import { Popularity, type PopularityConfig } from "./models/popularity";
import { PureSvd, type PureSvdConfig } from "./models/puresvd";
import { MODEL_FILE } from "./persist";
import type { Recommender } from "./recommender";

/** Every registered model kind (the `kind` of each implementation). */
export const MODEL_KINDS = ["popularity", "itemknn", "ials", "bpr", "ease", "puresvd"] as const;

/** A registered model kind. */
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The config type of each kind. */
export interface ModelConfigs {
  popularity: PopularityConfig;
  itemknn: ItemKnnConfig;
  ials: IalsConfig;
  bpr: BprConfig;
  ease: EaseConfig;
  puresvd: PureSvdConfig;
}

/** The class of each kind. */
export interface ModelClasses {
  popularity: Popularity;
  itemknn: ItemKnn;
  ials: Ials;
  bpr: Bpr;
  ease: Ease;
  puresvd: PureSvd;
}

/** true when `kind` names a registered model. */
export function isModelKind(kind: string): kind is ModelKind {
  return (MODEL_KINDS as readonly string[]).includes(kind);
}

/** A new, unfitted model of `kind`; config keys left out take the model's defaults. */
export function createModel<K extends ModelKind>(kind: K, config?: Partial<ModelConfigs[K]>): ModelClasses[K];
export function createModel(kind: string, config?: object): Recommender;
export function createModel(kind: string, config: object = {}): Recommender {
  switch (kind) {
    case "popularity":
      return new Popularity(config as Partial<PopularityConfig>);
    case "itemknn":
      return new ItemKnn(config as Partial<ItemKnnConfig>);
    case "ials":
      return new Ials(config as Partial<IalsConfig>);
    case "bpr":
      return new Bpr(config as Partial<BprConfig>);
    case "ease":
      return new Ease(config as Partial<EaseConfig>);
    case "puresvd":
      return new PureSvd(config as Partial<PureSvdConfig>);
    default:
      throw new ConfigError("model.kind", `unknown model '${kind}' (known: ${MODEL_KINDS.join(", ")})`);
  }
}

/** Loads a model directory written by any model's `save`, dispatching on model.json's `kind`. */
export async function loadModel(dir: string): Promise<Recommender> {
  const file = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(file)) throw new NtgError(`${dir}: no ${MODEL_FILE}; not a saved model directory`);
  let kind: unknown;
  try {
    kind = (JSON.parse(fs.readFileSync(file, "utf8")) as { kind?: unknown }).kind;
  } catch (e) {
    throw new NtgError(`${file}: unreadable model header (${(e as Error).message})`);
  }
  switch (kind) {
    case "popularity":
      return Popularity.load(dir);
    case "itemknn":
      return ItemKnn.load(dir);
    case "ials":
      return Ials.load(dir);
    case "bpr":
      return Bpr.load(dir);
    case "ease":
      return Ease.load(dir);
    case "puresvd":
      return PureSvd.load(dir);
    default:
      throw new NtgError(`${file}: unknown model kind ${JSON.stringify(kind)} (known: ${MODEL_KINDS.join(", ")})`);
  }
}
