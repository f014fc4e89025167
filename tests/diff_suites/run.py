#!/usr/bin/env python3
"""On-demand harness: strata against public PostgreSQL diff suites (issue #9).

It runs strata's live-vs-live diff over pgschema's `testdata/diff` cases (old.sql/new.sql) and
migra's `tests/FIXTURES` pairs (a.sql/b.sql). The fixtures are never committed; bring them here
with the search tool's fetch and point this script at the directories (DEVELOPERS.md, see
docs/diff-suites.md).

For each case:
  1. load old and new into two scratch databases, each after the case's `setup.sql` where it has one
     (pgschema's runner loads it before both sides); a case whose fixture does not load is unscored;
  2. `strata diff --from db:old --to db:new --schema '*'` prints the old->new SQL and its exit
     code (every schema is diffed, since the dumps compare whole databases; `--schema public`
     scores as strata did before it read several schemas);
  3. the SQL runs on old as printed (strata's files hold their own BEGIN;/COMMIT;);
  4. `pg_dump -s` of old and new are normalised (column order, `\\restrict` lines, SET lines,
     comments, statement order) and compared;
  5. zero false drift: each loaded database, diffed against a `CREATE DATABASE ... TEMPLATE` clone
     of itself, must report nothing with exit 0.

Verdicts:
  pass      the SQL ran and the dumps match
  reported  exit 2 with the differences strata leaves alone named on stderr (never "In sync")
  silent    exit 0 although the dumps differ (the worst case: a difference went unseen)
  wrong-sql the SQL strata printed failed on old
  mismatch  the SQL ran, exit 0, dumps still differ
  error     strata failed (exit 1)
  unscored  the fixture itself does not load

Usage:
  tests/diff_suites/run.py --strata target/release/strata \\
      [--pgschema DIR/testdata/diff] [--migra DIR/tests/FIXTURES] [--filter SUBSTR] \\
      [--table docs/diff-suites-results.md] [--keep-sql OUTDIR] [--schema SCHEMAS]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

PG = os.environ.get("STRATA_SUITE_PG", "postgres://postgres@127.0.0.1:5432")
RUN_ID = os.getpid()
COUNTER = [0]


def psql(db, *args, input_text=None):
    return subprocess.run(
        ["psql", f"{PG}/{db}", "-X", "-q", "-v", "ON_ERROR_STOP=1", *args],
        input=input_text, capture_output=True, text=True, timeout=120,
    )


def admin(sql):
    r = psql("postgres", "-c", sql)
    if r.returncode != 0:
        raise RuntimeError(f"admin SQL failed: {sql}: {r.stderr.strip()}")


def new_db(tag, template=None):
    COUNTER[0] += 1
    name = f"strata_suite_{RUN_ID}_{COUNTER[0]}_{tag}"
    admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def drop_db(name):
    psql("postgres", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load(db, path):
    """Loads a fixture file (none when `path` is None or missing); returns None on success, else
    the error."""
    if path is None or not os.path.exists(path):
        return None
    r = psql(db, "-f", path)
    if r.returncode == 0:
        return None
    errors = [l for l in r.stderr.splitlines() if "ERROR" in l]
    return (errors or r.stderr.strip().splitlines() or ["failed"])[0].strip()


def dump(db):
    r = subprocess.run(["pg_dump", "-s", "--no-owner", f"{PG}/{db}"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"pg_dump {db}: {r.stderr.strip()}")
    return normalise(r.stdout)


def normalise(text):
    """A dump as a sorted list of statements, column lines of tables sorted."""
    lines = []
    for line in text.splitlines():
        if line.startswith(("--", "\\restrict", "\\unrestrict", "SET ", "SELECT pg_catalog.set_config")):
            continue
        if not line.strip():
            continue
        lines.append(line)
    statements, current = [], []
    for line in lines:
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append(current)
            current = []
    if current:
        statements.append(current)
    out = []
    for st in statements:
        if st[0].startswith("CREATE TABLE") and len(st) > 2:
            body = sorted(l.strip().rstrip(",") for l in st[1:-1])
            st = [st[0], *body, st[-1]]
        out.append("\n".join(st))
    return sorted(out)


def strata_diff(strata, project, a, b, schemas):
    r = subprocess.run(
        [strata, "diff", "-C", project, "--from", f"db:{PG}/{a}", "--to", f"db:{PG}/{b}", "--schema", schemas],
        capture_output=True, text=True, timeout=300,
    )
    return r.returncode, r.stdout, r.stderr


def first_line(text):
    """The line that says most: the first `error:` line, else the first non-empty one."""
    for line in text.splitlines():
        if line.startswith("error"):
            return line.strip()[:160]
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""


def run_case(strata, project, name, paths, keep, schemas):
    setup_path, old_path, new_path = paths
    old = new = None
    clones = []
    try:
        old, new = new_db("old"), new_db("new")
        for db, path in ((old, setup_path), (old, old_path), (new, setup_path), (new, new_path)):
            err = load(db, path)
            if err:
                return {"case": name, "verdict": "unscored", "detail": f"fixture does not load: {err}"}
        false_drift = []
        for db in (old, new):
            clone = new_db("clone", template=db)
            clones.append(clone)
            code, out, errtext = strata_diff(strata, project, db, clone, schemas)
            if code != 0 or out.strip():
                false_drift.append(first_line(errtext) or first_line(out))
        code, sql, errtext = strata_diff(strata, project, old, new, schemas)
        if keep:
            with open(os.path.join(keep, name.replace("/", "__") + ".sql"), "w") as f:
                f.write(sql)
        result = {"case": name, "exit": code, "false_drift": false_drift}
        if code == 1:
            return {**result, "verdict": "error", "detail": first_line(errtext)}
        # strata's files carry their own BEGIN;/COMMIT;, so they run as they are.
        applied = psql(old, input_text=sql) if sql.strip() else None
        if applied is not None and applied.returncode != 0:
            errors = [l for l in applied.stderr.splitlines() if "ERROR" in l]
            return {**result, "verdict": "wrong-sql", "detail": (errors or [first_line(applied.stderr)])[0][:160]}
        same = dump(old) == dump(new)
        if same:
            verdict = "pass"
        elif code == 2:
            verdict = "reported"
        elif sql.strip():
            verdict = "mismatch"
        else:
            verdict = "silent"
        detail = "" if same else first_line(errtext)
        return {**result, "verdict": verdict, "detail": detail}
    finally:
        for db in [*clones, old, new]:
            if db:
                drop_db(db)


def cases(args):
    if args.pgschema:
        for root, _dirs, files in sorted(os.walk(args.pgschema)):
            if "old.sql" in files or "new.sql" in files:
                rel = os.path.relpath(root, args.pgschema)
                paths = (os.path.join(root, f) for f in ("setup.sql", "old.sql", "new.sql"))
                yield "pgschema/" + rel, tuple(paths)
    if args.migra:
        for entry in sorted(os.listdir(args.migra)):
            d = os.path.join(args.migra, entry)
            if os.path.isdir(d):
                yield "migra/" + entry, (None, os.path.join(d, "a.sql"), os.path.join(d, "b.sql"))


def project_dir():
    d = tempfile.mkdtemp(prefix="strata-suite-")
    with open(os.path.join(d, "strata.toml"), "w") as f:
        f.write('module_name = "suite"\ndialect = "postgres"\nmodel_roots = []\n')
    return d


def table(results):
    suites = {}
    for r in results:
        suites.setdefault(r["case"].split("/")[0], []).append(r)
    lines = ["| suite | scored | pass | reported | silent | wrong-sql | mismatch | error | false drift |",
             "|---|---|---|---|---|---|---|---|---|"]
    for suite, rs in suites.items():
        scored = [r for r in rs if r["verdict"] != "unscored"]
        count = lambda v: sum(1 for r in scored if r["verdict"] == v)
        drift = sum(1 for r in scored if r.get("false_drift"))
        lines.append(f"| {suite} | {len(scored)} | {count('pass')} | {count('reported')} | {count('silent')} | "
                     f"{count('wrong-sql')} | {count('mismatch')} | {count('error')} | {drift} |")
    lines += ["", "| case | verdict | exit | detail |", "|---|---|---|---|"]
    for r in results:
        detail = r.get("detail", "").replace("|", "\\|")
        if r.get("false_drift"):
            detail = (detail + " · false drift: " + "; ".join(r["false_drift"])).strip(" ·").replace("|", "\\|")
        lines.append(f"| {r['case']} | {r['verdict']} | {r.get('exit', '')} | {detail} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--strata", required=True, help="path to the strata binary")
    p.add_argument("--pgschema", help="pgschema's testdata/diff directory")
    p.add_argument("--migra", help="migra's tests/FIXTURES directory")
    p.add_argument("--filter", default="", help="only cases whose name contains this")
    p.add_argument("--table", help="write the per-case markdown table here")
    p.add_argument("--keep-sql", help="write each case's generated SQL into this directory")
    p.add_argument("--schema", default="*",
                   help="strata's --schema for every diff (default '*': every schema, as the dumps are whole "
                        "databases; 'public' reads public alone)")
    args = p.parse_args()
    if not args.pgschema and not args.migra:
        p.error("give --pgschema DIR and/or --migra DIR")
    for d in (args.pgschema, args.migra):
        if d and not os.path.isdir(d):
            p.error(f"{d}: not a directory")
    if args.keep_sql:
        os.makedirs(args.keep_sql, exist_ok=True)
    project = project_dir()
    results = []
    for name, paths in cases(args):
        if args.filter not in name:
            continue
        r = run_case(args.strata, project, name, paths, args.keep_sql, args.schema)
        results.append(r)
        print(f"{r['verdict']:9} {name}  {r.get('detail', '')}", file=sys.stderr)
    text = table(results)
    if args.table:
        with open(args.table, "w") as f:
            f.write(text)
    print(text.split("\n\n")[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
