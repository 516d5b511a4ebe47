#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ with real inputs (idempotent): BTF blobs and ELF objects from the
# btf fixtures, and objects compiled with gcc and clang from corpus/*/*.c, encoded by pahole.
set -euo pipefail
cd "$(dirname "$0")"
home=${BTFSMITH_HOME:-$HOME/.cache/btfsmith}
mkdir -p corpus/btf_parse corpus/encode_object corpus/differential corpus/dedup
cp ../btf/tests/data/*.btf ../btf/tests/data/*.o corpus/btf_parse/
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
n=0
for c in ../corpus/*/*.c; do
  for cc in gcc clang; do
    n=$((n + 1))
    o=$tmp/$n.o
    timeout 60 "$cc" -g -O2 -c "$c" -o "$o" 2>/dev/null || continue
    cp "$o" corpus/encode_object/$n-$cc.o
    timeout 60 "$home/bin/pahole-1.24" -J --btf_encode_detached="$tmp/$n.btf" "$o" 2>/dev/null && cp "$tmp/$n.btf" corpus/btf_parse/$n-$cc.btf
  done
done
# dedup: the BTF seeds behind a 0 byte (bytes mode), random streams behind a 1 byte (graph mode).
for f in corpus/btf_parse/*.btf; do
  { printf '\000'; cat "$f"; } > "corpus/dedup/$(basename "$f")"
done
for i in 1 2 3 4 5 6 7 8; do { printf '\001'; head -c 1024 /dev/urandom; } > corpus/dedup/graph-$i; done
# differential: arbitrary bytes become a choice stream; a few fixed streams to start from.
for i in 1 2 3 4 5 6 7 8; do head -c 512 /dev/urandom > corpus/differential/random-$i; done
echo "seed corpora: $(ls corpus/btf_parse | wc -l) btf_parse, $(ls corpus/encode_object | wc -l) encode_object, $(ls corpus/differential | wc -l) differential, $(ls corpus/dedup | wc -l) dedup"
