#!/usr/bin/env python3
"""Check the project's SQL on CURRENT ClickHouse, in-process, through chdb.

The local stack runs ClickHouse 18.16; production runs a current release. Both
must accept the same SQL. This script creates a database in a throw-away chdb
session and, in order:

1. runs every migration in infra/clickhouse/migrations/ (same splitting rules as
   packages/clickhouse/src/migrations.ts: full-line `--` comments dropped,
   statements end with `;` at the end of a line);
2. checks the read patterns the migrations are designed for (argMax ... GROUP BY
   with a version, and with a tuple(observed_at_ms, event_id) as the version);
3. runs every .sql file under services/query/sql/ if that folder exists. A
   `{name:Type}` placeholder is replaced by defaultValueOfTypeName('Type')
   (`{name:Identifier}` by a backquoted name) so templates run on empty tables;
4. with --literals FILE (JSON list of {"sql": literal text, "hex": utf-8 hex}),
   checks that each literal made by @optout/clickhouse reads back byte for byte.

Exits 0 when everything passed, 1 on any failure (each one printed), 3 when
chdb is missing.  Usage: python3 infra/clickhouse/check_modern.py [--literals FILE]
"""

import argparse
import glob
import json
import os
import re
import shutil
import sys
import tempfile

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DATABASE = "optout_modern_check"


def split_statements(text):
    """Mirror of splitStatements() in packages/clickhouse/src/migrations.ts."""
    statements, current = [], []
    for line in re.split(r"\r?\n", text):
        if line.lstrip().startswith("--"):
            continue
        trimmed = line.rstrip()
        if trimmed.endswith(";"):
            current.append(trimmed[:-1])
            statements.append("\n".join(current).strip())
            current = []
        else:
            current.append(line)
    statements.append("\n".join(current).strip())
    return [s for s in statements if s]


PLACEHOLDER = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([^{}]+?)\s*\}")


def fill_placeholders(statement):
    """Server-side parameters -> type defaults, so a template can run unbound."""

    def replace(match):
        name, type_name = match.group(1), match.group(2)
        if type_name == "Identifier":
            return "`%s`" % name
        return "defaultValueOfTypeName('%s')" % type_name.replace("\\", "\\\\").replace("'", "\\'")

    return PLACEHOLDER.sub(replace, statement)


class Checker:
    def __init__(self, session):
        self.session = session
        self.failures = []
        self.passed = 0

    def run(self, sql, fmt="JSONEachRow"):
        result = self.session.query(sql, fmt)
        text = result.bytes().decode("utf-8") if hasattr(result, "bytes") else str(result)
        return [json.loads(line) for line in text.splitlines() if line.strip()] if fmt == "JSONEachRow" else text

    def step(self, label, sql):
        try:
            self.run(sql)
            self.passed += 1
            return True
        except Exception as error:  # chdb raises its own error type; the message is what matters
            self.failures.append("%s: %s\n    %s" % (label, str(error).strip(), sql.strip().replace("\n", "\n    ")))
            return False

    def expect(self, label, sql, expected):
        try:
            got = self.run(sql)
        except Exception as error:
            self.failures.append("%s: %s" % (label, str(error).strip()))
            return
        if got != expected:
            self.failures.append("%s: expected %s, got %s" % (label, expected, got))
        else:
            self.passed += 1


def run_sql_files(checker, paths, kind, transform=lambda s: s):
    for path in paths:
        rel = os.path.relpath(path, ROOT)
        with open(path, encoding="utf-8") as handle:
            statements = split_statements(handle.read())
        if not statements:
            checker.failures.append("%s: no statements" % rel)
        for index, statement in enumerate(statements, 1):
            checker.step("%s %s statement %d" % (kind, rel, index), transform(statement))


def check_read_patterns(checker):
    """The dedup reads the schema is designed around (see the migration comments)."""
    s = checker.step
    s("pattern setup", "INSERT INTO consent_transitions (app_id, channel, occurred_at, transition_id, user_id, kind,"
      " occurred_at_ms, version, is_deleted) VALUES ('a', 'PUSH', '2024-01-01 00:00:00', 't1', 'u', 'OPT_OUT', 1, 1, 0)")
    s("pattern setup", "INSERT INTO consent_transitions (app_id, channel, occurred_at, transition_id, user_id, kind,"
      " occurred_at_ms, version, is_deleted) VALUES ('a', 'PUSH', '2024-01-01 00:00:00', 't1', 'u', 'OPT_OUT', 1, 2, 1)")
    checker.expect(
        "argMax(x, version) GROUP BY key",
        "SELECT transition_id, argMax(is_deleted, version) AS deleted, argMax(kind, version) AS kind"
        " FROM consent_transitions GROUP BY app_id, channel, transition_id",
        [{"transition_id": "t1", "deleted": 1, "kind": "OPT_OUT"}],
    )
    # Same observed_at_ms: the larger event_id wins; an older row never does.
    for values in ["('a', 'u1', 'x1', 100, 'e1')", "('a', 'u1', 'x2', 100, 'e2')", "('a', 'u1', 'x0', 50, 'e9')"]:
        s("pattern setup", "INSERT INTO user_external_ids VALUES " + values)
    checker.expect(
        "argMax(external_id, tuple(observed_at_ms, event_id))",
        "SELECT user_id, argMax(external_id, tuple(observed_at_ms, event_id)) AS external_id"
        " FROM user_external_ids GROUP BY app_id, user_id",
        [{"user_id": "u1", "external_id": "x2"}],
    )


def check_literals(checker, path):
    with open(path, encoding="utf-8") as handle:
        cases = json.load(handle)
    for start in range(0, len(cases), 200):
        batch = cases[start:start + 200]
        label = "literals %d..%d" % (start, start + len(batch) - 1)
        try:
            rows = checker.run("SELECT arrayMap(x -> hex(x), [%s]) AS h" % ", ".join(c["sql"] for c in batch))
        except Exception as error:
            checker.failures.append("%s: %s" % (label, str(error).strip()))
            continue
        wrong = [start + i for i, (c, h) in enumerate(zip(batch, rows[0]["h"])) if c["hex"] != h]
        if wrong:
            checker.failures.append("%s: %d literal(s) read back differently, e.g. #%d" % (label, len(wrong), wrong[0]))
        else:
            checker.passed += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrations", default=os.path.join(ROOT, "infra", "clickhouse", "migrations"))
    parser.add_argument("--templates", default=os.path.join(ROOT, "services", "query", "sql"))
    parser.add_argument("--literals", help="JSON file of {sql, hex} literal cases")
    args = parser.parse_args()

    try:
        import chdb
        from chdb import session as chdb_session
    except ImportError as error:
        print("check_modern: chdb is not importable (%s). Install it with: pip install chdb" % error, file=sys.stderr)
        return 3

    workdir = tempfile.mkdtemp(prefix="chdb-check-")
    session = chdb_session.Session(workdir)
    try:
        checker = Checker(session)
        version = checker.run("SELECT version() AS v")[0]["v"]
        print("ClickHouse %s (chdb %s)" % (version, getattr(chdb, "__version__", "?")))
        checker.run("CREATE DATABASE IF NOT EXISTS %s" % DATABASE, "CSV")
        checker.run("USE %s" % DATABASE, "CSV")

        migrations = sorted(glob.glob(os.path.join(args.migrations, "*.sql")))
        if not migrations:
            checker.failures.append("no migrations found in %s" % args.migrations)
        run_sql_files(checker, migrations, "migration")
        if not checker.failures:
            check_read_patterns(checker)

        if os.path.isdir(args.templates):
            templates = sorted(glob.glob(os.path.join(args.templates, "**", "*.sql"), recursive=True))
            run_sql_files(checker, templates, "template", fill_placeholders)
            print("templates: %d file(s) under %s" % (len(templates), os.path.relpath(args.templates, ROOT)))
        else:
            print("templates: %s does not exist, skipped" % os.path.relpath(args.templates, ROOT))

        if args.literals:
            check_literals(checker, args.literals)
    finally:
        session.close()
        shutil.rmtree(workdir, ignore_errors=True)

    if checker.failures:
        print("check_modern: FAILED on ClickHouse %s:" % version, file=sys.stderr)
        for failure in checker.failures:
            print("  - " + failure, file=sys.stderr)
        return 1
    print("check_modern: OK (%d checks, %d migration file(s))" % (checker.passed, len(migrations)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
