// Makes the built library resolvable by its package name ("ntg") from anywhere in the
// repository, notably from tslab notebook cells, which resolve modules Node10-style and
// cannot import ../src/*.ts. npm does not link a root package to itself, so we do it here.
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const link = path.join(root, "node_modules", "ntg");
fs.mkdirSync(path.dirname(link), { recursive: true });
try {
  const st = fs.lstatSync(link);
  if (st.isSymbolicLink() && path.resolve(path.dirname(link), fs.readlinkSync(link)) === root) process.exit(0);
  fs.rmSync(link, { recursive: true, force: true });
} catch {
  /* no link yet */
}
fs.symlinkSync("..", link, "dir");
console.log("ntg: linked node_modules/ntg -> repository root (dist/ is the library entry)");
