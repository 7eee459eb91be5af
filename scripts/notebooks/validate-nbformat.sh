#!/usr/bin/env bash
# Checks executed notebooks with Python Jupyter's own tools (a developer check, not part of CI:
# NTG itself needs no Python). For every notebook it runs `nbformat.validate` (the nbformat 4
# JSON schema: cell keys, outputs, cell ids, metadata) and `jupyter nbconvert --to html`, which
# renders the outputs the way JupyterLab does without a kernel.
#
# usage: scripts/notebooks/validate-nbformat.sh [notebook.ipynb ...]
#   default: experiments/*/notebooks/*.ipynb and the source notebooks/*.ipynb
#   NTG_JUPYTER_VENV  venv to use or create (default /tmp/ntg-jupyter-venv); it gets
#                     nbformat and nbconvert from PyPI on first use
#   NTG_NBCONVERT_OUT where the HTML goes (default: a temporary folder, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/../.."

venv="${NTG_JUPYTER_VENV:-/tmp/ntg-jupyter-venv}"
if [ ! -x "$venv/bin/jupyter-nbconvert" ]; then
  echo "validate-nbformat: creating $venv (pip install nbformat nbconvert)" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet nbformat nbconvert
fi

if [ "$#" -gt 0 ]; then
  files=("$@")
else
  shopt -s nullglob
  files=(experiments/*/notebooks/*.ipynb notebooks/*.ipynb)
fi
if [ "${#files[@]}" -eq 0 ]; then
  echo "validate-nbformat: no notebooks to check" >&2
  exit 1
fi

# 1. Schema validation, every notebook, all problems reported before failing.
"$venv/bin/python" - "${files[@]}" <<'PY'
import sys
import nbformat

bad = 0
for f in sys.argv[1:]:
    try:
        nb = nbformat.read(f, as_version=nbformat.NO_CONVERT)
        if nb.nbformat != 4:
            raise nbformat.ValidationError(f"nbformat {nb.nbformat}, expected 4")
        nbformat.validate(nb)
        n_out = sum(len(c.get("outputs", [])) for c in nb.cells)
        print(f"ok    {f} (nbformat {nb.nbformat}.{nb.nbformat_minor}, {len(nb.cells)} cells, {n_out} outputs)")
    except Exception as e:  # noqa: BLE001 - report every file, then fail
        bad += 1
        print(f"FAIL  {f}: {type(e).__name__}: {str(e)[:2000]}")
if bad:
    print(f"validate-nbformat: {bad} of {len(sys.argv) - 1} notebooks are not valid nbformat 4", file=sys.stderr)
    sys.exit(1)
PY

# 2. Render to HTML with nbconvert (fails on anything it cannot render). nbconvert 7 warns
#    "Alternative text is missing" on every embedded figure: its HTML template ignores the `alt`
#    the runner stores in the output metadata. The warning is harmless.
out="${NTG_NBCONVERT_OUT:-}"
cleanup=""
if [ -z "$out" ]; then
  out="$(mktemp -d)"
  cleanup="$out"
fi
trap '[ -n "$cleanup" ] && rm -rf "$cleanup"' EXIT
for f in "${files[@]}"; do
  dest="$out/$(basename "$(dirname "$(dirname "$f")")")"
  "$venv/bin/jupyter" nbconvert --to html --log-level=WARN --output-dir "$dest" "$f"
  echo "html  $f → $dest/$(basename "${f%.ipynb}").html"
done
echo "validate-nbformat: ${#files[@]} notebooks valid and rendered"
