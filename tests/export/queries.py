"""Queries an `rmqdump export` output with DuckDB; prints one JSON document.

Usage: queries.py PARQUET_DIR ARROW_DIR PARTITIONED_PARQUET_DIR

For each capture: requests, oneways and responses per code, latency count, max and p99 per
request code (p99 with the definition of `rmqdump stats`, docs/export.md), messages per topic
of send requests. Also, per table, the rows of the Parquet export not in the Arrow export and
the other way round (EXCEPT ALL), and checks on the hive partitions.
"""
import glob
import json
import sys

import duckdb
import pyarrow as pa
import pyarrow.ipc as ipc

TABLES = ["frames", "messages", "connections", "problems"]

# The histogram of `rmqdump stats` (src/analysis/stats/histogram.rs) in SQL: exact below 128 us,
# then 128 buckets per power of two, a value read as the middle of its bucket.
MACROS = """
create macro rmq_log2(v) as cast(floor(log2(v)) as bigint)
  - case when (1::bigint << cast(floor(log2(v)) as bigint)) > v then 1 else 0 end
  + case when (1::bigint << (cast(floor(log2(v)) as bigint) + 1)) <= v then 1 else 0 end;
create macro rmq_bucket_mid(v) as case when v < 128 then v else
  ((1::bigint << rmq_log2(v)) | (((v >> (rmq_log2(v) - 7)) & 127) << (rmq_log2(v) - 7)))
  + ((1::bigint << (rmq_log2(v) - 7)) // 2) end;
"""

P99 = """
with lat as (
  select capture, coalesce(request_code, -1) as code, coalesce(long_poll, false) as lp,
         greatest(latency_us, 0) as v,
         row_number() over (partition by capture, request_code, coalesce(long_poll, false)
                            order by greatest(latency_us, 0)) as rn,
         count(*) over (partition by capture, request_code, coalesce(long_poll, false)) as n,
         max(greatest(latency_us, 0)) over (partition by capture, request_code, coalesce(long_poll, false)) as mx
  from frames where kind = 'response' and latency_us is not null)
select capture, code, lp, any_value(n) as count, any_value(mx) as max,
       least(rmq_bucket_mid(max(v) filter (where rn = greatest(1, ceil(0.99::double * n)))), any_value(mx)) as p99
from lat group by capture, code, lp
"""


def arrow_table(d, t):
    files = sorted(glob.glob(f"{d}/{t}/**/*.arrow", recursive=True))
    return pa.concat_tables([ipc.open_file(f).read_all() for f in files])


def summary(c):
    out = {}

    def cap(name):
        return out.setdefault(name, {"codes": {}, "topics": {}})

    def code(name, k):
        return cap(name)["codes"].setdefault(str(k), {"requests": 0, "oneways": 0, "responses": {}})

    for capture, k, kind, n in c.execute(
        "select capture, code, kind, count(*) from frames where kind in ('request', 'oneway') group by all"
    ).fetchall():
        e = code(capture, k)
        e["requests"] += n
        if kind == "oneway":
            e["oneways"] += n
    for capture, k, name, n in c.execute(
        "select capture, coalesce(request_code, -1), name, count(*) from frames where kind = 'response' group by all"
    ).fetchall():
        code(capture, k)["responses"][name] = n
    for capture, k, lp, n, mx, p99 in c.execute(P99).fetchall():
        key = "long_poll_latency" if lp else "latency"
        code(capture, k)[key] = {"count": n, "max": mx, "p99": p99}
    for capture, topic, n in c.execute(
        "select capture, topic, count(*) from messages where kind in ('request', 'oneway') "
        "and code in (10, 310, 320, 324, 325) and inner_index is null group by all"
    ).fetchall():
        cap(capture)["topics"][topic] = n
    return out


def main():
    pq, ar, part = sys.argv[1:4]
    res = {}
    c = duckdb.connect()
    c.sql(MACROS)
    for t in TABLES:
        c.sql(f"create view {t} as select * from read_parquet('{pq}/{t}/**/*.parquet')")
    res["parquet"] = summary(c)
    res["rows"] = {t: c.execute(f"select count(*) from {t}").fetchall()[0][0] for t in TABLES}
    a = duckdb.connect()
    a.sql(MACROS)
    arrow = {t: arrow_table(ar, t) for t in TABLES}
    for t in TABLES:
        a.register(t, arrow[t])
    res["arrow"] = summary(a)
    # Same rows both ways (the Arrow tables registered in the Parquet connection).
    res["except"] = {}
    for t in TABLES:
        c.register(f"arrow_{t}", arrow[t])
        one = c.execute(f"select count(*) from (select * from {t} except all select * from arrow_{t})").fetchall()[0][0]
        two = c.execute(f"select count(*) from (select * from arrow_{t} except all select * from {t})").fetchall()[0][0]
        res["except"][t] = [one, two]
    # Hive partitions: same rows; every row in the folder of its own UTC date and hour.
    res["partitioned"] = {}
    for t, ts in [("frames", "ts"), ("messages", "ts"), ("connections", "first_ts"), ("problems", "ts")]:
        q = f"read_parquet('{part}/{t}/**/*.parquet', hive_partitioning = true)"
        n, misplaced = c.execute(
            f"select count(*), count(*) filter (where cast(date as varchar) <> strftime({ts} at time zone 'UTC', '%Y-%m-%d') "
            f"or cast(hour as integer) <> hour({ts} at time zone 'UTC')) from {q}"
        ).fetchall()[0]
        diff = c.execute(
            f"select count(*) from (select * exclude (date, hour) from {q} except all select * from {t})"
        ).fetchall()[0][0]
        res["partitioned"][t] = {"rows": n, "misplaced": misplaced, "not_in_unpartitioned": diff}
    json.dump(res, sys.stdout, sort_keys=True)


main()
