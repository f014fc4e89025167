#!/usr/bin/env bash
# Parity check against a Serverpod checkout: for every server package (a directory with
# config/generator.yaml and migrations/), strata must reproduce the project's own tables of its
# latest committed definition_project.json: `create-migration --check` finds no changes, and
# `--empty` writes a byte-identical definition_project.json.
#
# Usage: tests/serverpod_parity.sh CHECKOUT   (or SERVERPOD_CHECKOUT=...; a scratch copy wired with
#        /work/shared/tools/serverpod_package_config.py or `dart pub get`; it is modified: each
#        --empty version is removed again). STRATA=path/to/strata overrides the binary.
# Prints one line per package on stdout and the score last; exit 0 only when all pass.
set -u
checkout=${1:-${SERVERPOD_CHECKOUT:?give the Serverpod checkout as argument or SERVERPOD_CHECKOUT}}
strata=${STRATA:-$(dirname "$0")/../target/debug/strata}
strata=$(realpath "$strata")
pass=0 total=0

# Byte comparison, except installedModules[].version: a module may have gained versions since
# the package's migration was committed, and strata records the module's latest version as
# Serverpod does.
same_project_definition() {
  python3 - "$1" "$2" <<'PY'
import json, re, sys
old, new = (open(p, encoding="utf-8").read() for p in sys.argv[1:3])
modules = re.compile(r'"installedModules": \[.*?\n  \]', re.S)
versions = lambda text: [m["version"] for m in json.loads(text).get("installedModules", [])]
found = modules.search(old)
if found:
    block = found.group(0)
    for was, now in zip(versions(old), versions(new)):
        block = block.replace('"version": "%s"' % was, '"version": "%s"' % now, 1)
    old = old[: found.start()] + block + old[found.end():]
if old == new:
    sys.exit(0)
a, b = json.loads(old), json.loads(new)
if a.get("tables") != b.get("tables"):
    print("tables differ")
elif a.get("installedModules") != b.get("installedModules"):
    names = lambda d: ",".join(m["module"] for m in d.get("installedModules", []))
    print("tables equal; installedModules differ: committed %s, strata %s" % (names(a), names(b)))
else:
    print("tables equal; formatting differs")
sys.exit(1)
PY
}
while IFS= read -r gen; do
  pkg=$(dirname "$(dirname "$gen")")
  latest=$(find "$pkg/migrations" -mindepth 2 -maxdepth 2 -name definition_project.json | sort | tail -1)
  [ -n "$latest" ] || continue
  total=$((total + 1))
  rel=${pkg#"$checkout"/}
  log=$(mktemp)
  if ! "$strata" create-migration -C "$pkg" --check >"$log" 2>&1; then
    echo "FAIL $rel: --check: $(head -c 600 "$log" | tr '\n' ' ')"
    rm -f "$log"; continue
  fi
  registry="$pkg/migrations/migration_registry.txt"
  saved=$(mktemp); cp "$registry" "$saved"
  before=$(ls "$pkg/migrations")
  if "$strata" create-migration -C "$pkg" --empty --tag parity >"$log" 2>&1; then
    new=$(comm -13 <(echo "$before") <(ls "$pkg/migrations") | head -1)
    if why=$(same_project_definition "$latest" "$pkg/migrations/$new/definition_project.json"); then
      echo "PASS $rel"; pass=$((pass + 1))
    else
      echo "FAIL $rel: --empty definition_project.json differs from ${latest#"$checkout"/}: $why"
    fi
    [ -n "$new" ] && rm -rf "${pkg:?}/migrations/$new"
  else
    echo "FAIL $rel: --empty: $(head -c 600 "$log" | tr '\n' ' ')"
  fi
  cp "$saved" "$registry"; rm -f "$saved" "$log"
done < <(find "$checkout" -path '*/config/generator.yaml' -not -path '*/templates/*' | sort)
echo "score: $pass/$total"
[ "$pass" -eq "$total" ]
