#!/usr/bin/env bash
# README's recipes, checked as a user would follow them: a scratch crate made exactly from
# README's snippets, beside the clone (`../mpisim`, as README's Cargo.toml says), built and
# tested; its binary run with the flags README shows. A snippet is a file of the crate when
# its first line names the file: `// src/main.rs`, `// tests/ring.rs`, `# Cargo.toml`.
#
# Usage: tests/readme/check.sh [SCRATCH_DIR]   (default: a fresh temporary folder)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
scratch="${1:-$(mktemp -d)}"
mkdir -p "$scratch"
ln -sfn "$repo" "$scratch/mpisim"
crate="$scratch/my-mpi"
rm -rf "$crate"
mkdir -p "$crate"

# The README's first command block must stay exactly the two commands of a fresh clone.
first_block="$(awk '/^```sh$/ {inside = 1; next} inside && /^```$/ {exit} inside {print}' "$repo/README.md")"
commands="$(printf '%s\n' "$first_block" | sed 's/ *#.*//' | sed '/^$/d')"
if [ "$commands" != "$(printf 'cargo run --release\ncargo test --release')" ]; then
    echo "README's first command block is not exactly \`cargo run --release\` and \`cargo test --release\`:" >&2
    printf '%s\n' "$first_block" >&2
    exit 1
fi

# Every fenced block whose first line names a file becomes that file.
awk -v crate="$crate" '
    /^```/ && !inside { inside = 1; first = 1; file = ""; next }
    /^```/ && inside { inside = 0; if (file != "") close(file); next }
    inside && first {
        first = 0
        if (match($0, /^(\/\/|#) [A-Za-z0-9_.\/-]+\.(rs|toml)$/)) {
            path = $0; sub(/^(\/\/|#) /, "", path)
            file = crate "/" path
            dir = file; sub(/\/[^\/]*$/, "", dir)
            system("mkdir -p \"" dir "\"")
            printf "" > file
            print "readme: " path > "/dev/stderr"
        }
    }
    inside && file != "" { print >> file }
' "$repo/README.md"

for needed in Cargo.toml src/main.rs; do
    if [ ! -f "$crate/$needed" ]; then
        echo "README has no snippet for $needed (a block whose first line is \`// $needed\` or \`# $needed\`)" >&2
        exit 1
    fi
done

# As README advises: the versions of mpisim's own lock file.
cp "$repo/Cargo.lock" "$crate/Cargo.lock"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target/readme}"
cd "$crate"
cargo test --release
# The commands README gives for the program, with the exit codes it promises.
cargo run --release --quiet -- --help >/dev/null
cargo run --release --quiet -- -n 4 --bytes 1MiB
set +e
cargo run --release --quiet -- -n 4 --bytes 1MiB --order naive >/dev/null
code=$?
set -e
if [ "$code" != 3 ]; then
    echo "the naive ring of 1 MiB should deadlock (exit code 3), not exit with $code" >&2
    exit 1
fi
echo "README's recipes build and pass in $crate"
