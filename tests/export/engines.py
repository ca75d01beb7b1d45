"""Runs the queries of docs/scale.md on an `rmqdump export` folder in DuckDB, Spark SQL
(pyspark, one local[1] session for all) and ClickHouse (chdb, in-process); prints one JSON
document.

Usage: engines.py SCALE_MD DATA_DIR

The queries are taken from the document itself: every ```sql block that follows a line
`DuckDB:`, `Spark SQL:` or `ClickHouse:`, under the `### ` heading that names its question;
`/data/rmq` in them is replaced by DATA_DIR. A block's statements (split at `;` ending a
line) run in order; the last one's rows are the answer. Output:
{"answers": {QUESTION: {ENGINE: [ROW...]}}, "seconds": {ENGINE: wall seconds}}, rows as
JSON values (dates as `YYYY-MM-DD`, digit strings as numbers, floats rounded to 6 places),
in the engine's order.
"""
import datetime
import decimal
import json
import os
import re
import sys
import time

ENGINES = {"DuckDB:": "duckdb", "Spark SQL:": "spark", "ClickHouse:": "clickhouse"}


def blocks(md):
    """(question, engine, sql) for every query block of the document."""
    out, question, engine = [], None, None
    lines = md.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("### "):
            question, engine = line[4:].strip(), None
        elif line.strip() in ENGINES:
            engine = ENGINES[line.strip()]
        elif line.startswith("```sql") and engine and question:
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            out.append((question, engine, "\n".join(lines[i + 1 : j])))
            engine, i = None, j
        i += 1
    return out


def statements(sql):
    return [s.strip() for s in re.split(r";[ \t]*(?:\n|$)", sql) if s.strip()]


def norm(v):
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, decimal.Decimal):
        v = float(v)
    if isinstance(v, float):
        return int(v) if v.is_integer() else round(v, 6)
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, str) and v.isdigit() and len(v) < 10:
        return int(v)
    if isinstance(v, (bytes, bytearray)):
        return v.decode("utf-8", "replace")
    return v


def run_duckdb(stmts):
    import duckdb

    c = duckdb.connect()
    rows = []
    for s in stmts:
        rows = c.execute(s).fetchall()
    return [list(r) for r in rows]


class Spark:
    def __init__(self):
        from pyspark.sql import SparkSession

        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        self.s = (
            SparkSession.builder.master("local[1]")
            .appName("rmqdump-export-test")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "1")
            .config("spark.driver.memory", "512m")
            # Tiny data, many short queries: a JVM that starts fast (C1 only) and plans
            # run without compiling code beat the defaults by about 40 %.
            .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1")
            .config("spark.sql.codegen.wholeStage", "false")
            .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
            .config("spark.sql.adaptive.enabled", "false")
            .getOrCreate()
        )
        self.s.sparkContext.setLogLevel("ERROR")

    def run(self, stmts):
        rows = []
        for st in stmts:
            rows = self.s.sql(st).collect()
        return [list(r) for r in rows]


def run_clickhouse(sess, stmts):
    rows = []
    for st in stmts:
        t = sess.query(st, "ArrowTable")
        rows = [list(r.values()) for r in t.to_pylist()] if t is not None else []
    return rows


def main():
    md_path, data = sys.argv[1:3]
    with open(md_path) as f:
        qs = [(q, e, sql.replace("/data/rmq", data)) for q, e, sql in blocks(f.read())]
    answers, seconds = {}, {}
    for engine in ["duckdb", "spark", "clickhouse"]:
        t0 = time.monotonic()
        if engine == "spark":
            spark = Spark()
            run = spark.run
        elif engine == "clickhouse":
            from chdb import session

            sess = session.Session()
            run = lambda st: run_clickhouse(sess, st)  # noqa: E731
        else:
            run = run_duckdb
        for q, e, sql in qs:
            if e != engine:
                continue
            try:
                rows = run(statements(sql))
            except Exception as x:  # the test reports which query failed, and why
                rows = {"error": str(x)[:2000]}
            if isinstance(rows, list):
                rows = [[norm(v) for v in r] for r in rows]
            answers.setdefault(q, {})[e] = rows
        if engine == "spark":
            spark.s.stop()
        seconds[engine] = round(time.monotonic() - t0, 2)
    json.dump({"answers": answers, "seconds": seconds}, sys.stdout, sort_keys=True)


main()
