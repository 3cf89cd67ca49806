#!/usr/bin/env python3
"""Costs by function from callgrind profiles, inlined pieces merged (bench/PROFILE.md).

callgrind_annotate lists a function once per source file its inlined code came from
(`vec/mod.rs:postcard::ser::serialize_with_flavor`, ...); this sums the pieces of each
function and prints the top ones with their share of the total.

    callgrind_by_function.py BIG.out [--minus SMALL.out --per N] [--events Ir] [--inclusive] [--top 25]

--minus SMALL.out --per N prints the marginal cost of N units of work (messages): BIG's cost
minus SMALL's, divided by N, for two runs of one program that differ only in how much work
they do, so that setup and teardown cancel out.
--events takes callgrind event names joined by `+` and sums them (`DLmr+DLmw`: data misses
of the last-level cache). With --inclusive, the pieces of one function overlap (each holds
the function's calls), so the largest piece is kept: a lower bound of its inclusive cost.
"""
import collections
import re
import subprocess
import sys


def costs(path, events, inclusive):
    cmd = ["callgrind_annotate", "--show=" + ",".join(events), "--sort=" + ",".join(events),
           "--threshold=100", "--auto=no"]
    if inclusive:
        cmd.append("--inclusive=yes")
    out = subprocess.run(cmd + [path], capture_output=True, text=True, check=True).stdout
    cell = r"([\d,]+|\.)(?: \([^)]*\))?\s+"
    row = re.compile(r"^\s*" + cell * len(events) + r"(\S.*)$")
    total, by_function = 0, collections.Counter()
    for line in out.splitlines():
        m = row.match(line)
        if not m:
            continue
        *values, where = m.groups()
        value = sum(0 if v == "." else int(v.replace(",", "")) for v in values)
        if "PROGRAM TOTALS" in where:
            total = value
            continue
        if where.startswith("=>") or where.startswith("events annotated"):
            continue
        where = re.sub(r"\s*\[[^\]]*\]$", "", where)
        head = where.split(" ")[0]
        function = where.split(":", 1)[1] if ":" in head and not head.startswith("<") else where
        if inclusive:
            by_function[function] = max(by_function[function], value)
        else:
            by_function[function] += value
    return total, by_function


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)

    def option(name, default):
        return args[args.index(name) + 1] if name in args else default

    events = option("--events", "Ir").split("+")
    inclusive = "--inclusive" in args
    top = int(option("--top", "25"))
    total, by_function = costs(args[0], events, inclusive)
    per = 1.0
    if "--minus" in args:
        small_total, small = costs(option("--minus", ""), events, inclusive)
        per = float(option("--per", "1"))
        total -= small_total
        by_function = collections.Counter({f: v - small.get(f, 0) for f, v in by_function.items()})
    label = "+".join(events) + ("" if per == 1.0 else " per unit")
    print(f"{label:>16} {'%':>6}  function (total {total / per:,.0f})")
    for function, value in by_function.most_common(top):
        print(f"{value / per:>16,.1f} {100 * value / total:>5.1f}%  {function[:160]}")


main()
