"""Runs Apache Otava's change point detection on series read from stdin.

Input: a JSON list of series (lists of floats). Output: a JSON list, for
each series, of the indices of the change points Otava found (the first
point after each change), with its default window of 50 points.

    python3 run_otava.py OTAVA_SOURCE_DIR MAX_PVALUE < series.json

Used by `go run ./bench/changes -otava DIR`; see the README.
"""
import json
import sys

sys.path.insert(0, sys.argv[1])
from otava.analysis import compute_change_points  # noqa: E402

p = float(sys.argv[2])
out = []
for xs in json.load(sys.stdin):
    cps, _ = compute_change_points(xs, window_len=50, max_pvalue=p)
    out.append([int(cp.index) for cp in cps])
json.dump(out, sys.stdout)
