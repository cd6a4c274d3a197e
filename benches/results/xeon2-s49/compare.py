"""Rows (claims, checks, hypotheses) of two summary.json files compared by
id: measured value and verdict. Usage: python3 compare.py A B"""
import json, sys

def rows(path):
    s = json.load(open(path))
    out = {}
    for key, v in s.items():
        if isinstance(v, list) and v and isinstance(v[0], dict) and "verdict" in v[0]:
            for r in v:
                out[(key, r.get("id"))] = (r.get("measured"), r.get("verdict"))
    return out

a, b = rows(sys.argv[1]), rows(sys.argv[2])
same = sum(1 for k in a if k in b and a[k] == b[k])
print(f"{sys.argv[1]}: {len(a)} rows; {sys.argv[2]}: {len(b)} rows; identical: {same}")
for k in a:
    if k in b and a[k] != b[k]:
        print("differs", k, a[k], b[k])
