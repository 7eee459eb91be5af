/**
 * Checks real MovieLens copies against the counts GroupLens publishes, through the same source
 * description and SQL ingestion uses. Reads the files in place; copies nothing.
 *
 *   npx tsx scripts/check-movielens-counts.ts [folder holding ml-100k/ and/or ml-latest-small/]
 *
 * Exit 0 when every release found matches, 1 on a mismatch, 2 when nothing could be checked.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { withDuck } from "../src/data/duck";
import { countMovieLens, movieLensSource, type MovieLensVariant } from "../src/data/movielens";
import { NtgError } from "../src/util/errors";

interface Expected {
  ratings: number;
  users: number;
  /** distinct rated items */
  items: number;
  /** rows of the item dimension (movies listed, rated or not) */
  itemRows: number;
  /** rows of the user dimension, where the release has one */
  userRows?: number;
}

// From the releases' READMEs: ML-100K "100,000 ratings (1-5) from 943 users on 1682 movies";
// ml-latest-small "100836 ratings ... across 9742 movies ... by 610 users" (9,724 of the movies
// have at least one rating).
const PUBLISHED: Partial<Record<MovieLensVariant, Expected>> = {
  "ml-100k": { ratings: 100_000, users: 943, items: 1_682, itemRows: 1_682, userRows: 943 },
  "ml-latest-small": { ratings: 100_836, users: 610, items: 9_724, itemRows: 9_742 },
};

async function main(): Promise<number> {
  const root = path.resolve(process.argv[2] ?? "../shared/data/movielens");
  if (!fs.existsSync(root)) {
    console.error(`no such folder: ${root}`);
    return 2;
  }
  const present = (Object.keys(PUBLISHED) as MovieLensVariant[]).filter((v) => fs.existsSync(path.join(root, v)));
  if (present.length === 0) {
    console.error(`${root} holds neither ${Object.keys(PUBLISHED).join(" nor ")}; nothing to check`);
    return 2;
  }
  let failures = 0;
  await withDuck(async (db) => {
    for (const variant of present) {
      const dir = path.join(root, variant);
      const want = PUBLISHED[variant]!;
      const source = movieLensSource(dir, variant);
      const counts = await countMovieLens(db, dir);
      const rowsOf = async (sql: string | undefined): Promise<number | undefined> =>
        sql === undefined ? undefined : Number(await db.scalar(`SELECT count(*) FROM (${sql})`));
      const got: Record<keyof Expected, number | undefined> = {
        ratings: counts.ratings,
        users: counts.users,
        items: counts.items,
        itemRows: await rowsOf(source.dimensions.itemsSql),
        userRows: await rowsOf(source.dimensions.usersSql),
      };
      console.log(`${variant} (${dir})`);
      for (const key of Object.keys(want) as (keyof Expected)[]) {
        const ok = got[key] === want[key];
        if (!ok) failures += 1;
        const label = { ratings: "ratings", users: "distinct users", items: "distinct rated items", itemRows: "item dimension rows", userRows: "user dimension rows" }[key];
        console.log(`  ${label.padEnd(22)} ${fmt(got[key]).padStart(9)}  published ${fmt(want[key]).padStart(9)}  ${ok ? "ok" : "MISMATCH"}`);
      }
    }
  });
  console.log(failures === 0 ? "all counts match the published numbers" : `${failures} count(s) differ from the published numbers`);
  return failures === 0 ? 0 : 1;
}

function fmt(n: number | undefined): string {
  return n === undefined ? "-" : n.toLocaleString("en-US");
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof NtgError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    process.exit(2);
  },
);
