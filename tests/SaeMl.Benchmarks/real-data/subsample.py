"""Random subsets of a training query store, with the matching rows of its neighbours file, for studies of how retention
moves with the number of distinct training queries (docs/results.md, "Distinct training queries at equal passes").

The subsets are nested: each is the first COUNT rows of one seeded permutation, kept in store order. Each is written as a
SaeMl embedding store (store.json, ids.txt, part-00000.npy) beside a neighbours file of the same rows.

Usage: subsample.py QUERY_STORE NEIGHBORS.ids.npy OUT_FOLDER COUNT [COUNT ...]
  writes OUT_FOLDER/qCOUNT/ and OUT_FOLDER/nbCOUNT.ids.npy for each COUNT (seed 7)
"""
import json
import os
import sys

import numpy as np


def main(store, neighbors_path, out, counts):
    with open(os.path.join(store, "store.json")) as f:
        meta = json.load(f)
    parts = [np.load(os.path.join(store, shard["file"]), mmap_mode="r") for shard in meta["shards"]]
    queries = np.concatenate(parts) if len(parts) > 1 else parts[0]
    with open(os.path.join(store, "ids.txt")) as f:
        ids = [line for line in f.read().split("\n") if line]
    neighbors = np.load(neighbors_path, mmap_mode="r")
    if not len(ids) == queries.shape[0] == neighbors.shape[0]:
        sys.exit(f"error: {store} has {queries.shape[0]} rows and {len(ids)} ids, {neighbors_path} {neighbors.shape[0]} rows; they must agree")
    order = np.random.default_rng(7).permutation(queries.shape[0])
    for count in counts:
        if not 0 < count <= queries.shape[0]:
            sys.exit(f"error: COUNT {count} must be between 1 and the store's {queries.shape[0]} rows")
        rows = np.sort(order[:count])
        folder = os.path.join(out, f"q{count}")
        os.makedirs(folder, exist_ok=True)
        np.save(os.path.join(folder, "part-00000.npy"), np.ascontiguousarray(queries[rows]))
        with open(os.path.join(folder, "ids.txt"), "w") as f:
            f.write("\n".join(ids[r] for r in rows) + "\n")
        with open(os.path.join(folder, "store.json"), "w") as f:
            json.dump({"format": meta["format"], "version": meta["version"], "layout": "contiguous", "dimension": queries.shape[1],
                       "rows": int(count), "shards": [{"file": "part-00000.npy", "rows": int(count)}]}, f, indent=2)
        np.save(os.path.join(out, f"nb{count}.ids.npy"), np.ascontiguousarray(neighbors[rows]))
        print(f"{count:,} queries: {folder}")


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], [int(c) for c in sys.argv[4:]])
