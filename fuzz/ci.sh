#!/usr/bin/env bash
# Bounded fuzzing for CI (called from .ci/run; see fuzz/README.md).
#
# Builds every target with `--sanitizer none` (stable toolchain), then runs
# each one for FUZZ_SECONDS (default 60) starting from a temporary copy of its
# committed corpus, so CI never writes into fuzz/corpus/. A crash, timeout or
# out-of-memory fails the script, after printing the input's path and a hex
# dump (and, for chat_ops, the decoded operations).
#
#   FUZZ_SECONDS=300 fuzz/ci.sh           # longer run
#   FUZZ_SECONDS=0 fuzz/ci.sh             # build and replay the corpus only
#   FUZZ_TARGETS="decode" fuzz/ci.sh      # one target
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-60}"
targets="${FUZZ_TARGETS:-decode chat_ops tls_input}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

echo "== building fuzz targets ($targets), sanitizer none"
for target in $targets; do
    cargo fuzz build --sanitizer none "$target"
done
bin_dir="target/$(rustc -vV | sed -n 's/^host: //p')/release"

work="$(mktemp -d "${TMPDIR:-/tmp}/ringport-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
failed=()
for target in $targets; do
    case "$target" in
        chat_ops) extra=(-max_len=4096) ;;
        *) extra=() ;;
    esac
    mkdir -p "$work/$target/corpus" "$work/$target/artifacts"
    if [ -d "corpus/$target" ]; then
        cp -r "corpus/$target/." "$work/$target/corpus/"
    fi
    n="$(find "$work/$target/corpus" -type f | wc -l)"
    echo "== fuzz $target: ${seconds}s from $n corpus inputs"
    if [ "$seconds" -gt 0 ]; then
        limit=(-max_total_time="$seconds")
    else
        limit=(-runs=0)
    fi
    if "$bin_dir/$target" "$work/$target/corpus" "${limit[@]}" "${extra[@]}" \
        -artifact_prefix="$work/$target/artifacts/" -print_final_stats=1 \
        >"$work/$target/log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done' "$work/$target/log" || true
        continue
    fi
    failed+=("$target")
    echo "!! fuzz target $target failed; the panic, then libFuzzer's report:"
    grep -m 3 -A 2 "panicked at" "$work/$target/log" || true
    tail -n 40 "$work/$target/log"
    keep="${FUZZ_ARTIFACT_DIR:-$PWD/artifacts}/$target"
    mkdir -p "$keep"
    for input in "$work/$target/artifacts"/*; do
        [ -f "$input" ] || continue
        cp "$input" "$keep/"
        saved="$keep/$(basename "$input")"
        echo "!! failing input: $saved ($(wc -c <"$input") bytes)"
        od -A x -t x1z -v "$input" | head -n 64
        if [ "$target" = chat_ops ]; then
            cargo fuzz fmt --sanitizer none "$target" "$input" 2>/dev/null | head -n 80 || true
        fi
        echo "!! reproduce: cd fuzz && cargo fuzz run --sanitizer none $target $saved"
    done
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzzing found a failure in: ${failed[*]}"
    exit 1
fi
echo "fuzzing: no failure in $targets"
