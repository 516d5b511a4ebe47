#!/usr/bin/env bash
# Build script in the shape OSS-Fuzz / ClusterFuzzLite expect for Rust projects ($SRC, $OUT set
# by their builder; `cargo fuzz build -O` with their sanitizer flags). Copies every target and its
# seed corpus (zipped, <target>_seed_corpus.zip) into $OUT.
set -euo pipefail
cd "${SRC:-$(dirname "$0")/..}/fuzz"
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
./seed-corpora.sh
RUSTC_BOOTSTRAP=1 cargo fuzz build -O
for t in btf_parse encode_object differential dedup; do
  cp "target/x86_64-unknown-linux-gnu/release/$t" "$OUT/"
  (cd "corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
done
echo "built into $OUT"
