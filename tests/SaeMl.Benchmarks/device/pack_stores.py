"""Packs SaeMl embedding stores small enough to travel to a GPU machine, and unpacks them there.

A device call carries at most 64 MiB, and a real retrieval set's float32 stores are larger (the Debian set: 181 MB).
`pack` writes each store as 8-bit codes: the store's mean vector is subtracted, and each row is scaled by its largest
absolute centred element to ±127 (float32 mean and per-row scales kept). On the Debian set (arctic-embed-xs, d = 384) the
centred elements have a standard deviation of 0.031 and an 8-bit step of 0.0008, so the rounding error is under 1 % of
each element's spread, far below what an SAE's reconstruction error (FVU 0.3 to 0.6) can notice. `unpack` writes float32
SaeMl stores again (store.json, ids.txt, part-00000.npy). Evaluate models trained on unpacked stores against the exact
stores where they came from.

Usage:
  pack_stores.py pack OUT.tar.xz name=STORE_FOLDER ... [file=PATH ...]
  pack_stores.py unpack PACK.tar.xz FOLDER
`file=` entries travel as they are (xz-compressed); an int64 .npy of neighbor ids travels as int32.
"""
import io
import json
import lzma
import os
import sys
import tarfile

import numpy as np


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def read_store(folder):
    with open(os.path.join(folder, "store.json")) as f:
        meta = json.load(f)
    parts = [np.load(os.path.join(folder, shard["file"]), mmap_mode="r") for shard in meta["shards"]]
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def pack(target, entries):
    with lzma.open(target + ".tmp", "wb", preset=6) as compressed, tarfile.open(fileobj=compressed, mode="w") as tar:
        for entry in entries:
            kind, path = entry.split("=", 1)
            if kind == "file":
                data = np.load(path) if path.endswith(".npy") else None
                if data is not None and data.dtype == np.int64 and data.max() < 2**31:
                    add(tar, "files/" + os.path.basename(path), npy_bytes(data.astype(np.int32)))
                else:
                    with open(path, "rb") as f:
                        add(tar, "files/" + os.path.basename(path), f.read())
                continue
            rows = read_store(path)
            mean = rows.mean(axis=0, dtype=np.float64).astype(np.float32)
            codes = np.empty(rows.shape, dtype=np.int8)
            scales = np.empty(rows.shape[0], dtype=np.float32)
            for start in range(0, rows.shape[0], 8192):
                block = rows[start:start + 8192] - mean
                scale = np.abs(block).max(axis=1) / 127
                scale[scale == 0] = 1
                codes[start:start + 8192] = np.rint(block / scale[:, None]).astype(np.int8)
                scales[start:start + 8192] = scale
            error = (codes[:4096] * scales[:4096, None] + mean - rows[:4096]).std()
            print(f"{kind}: {rows.shape[0]:,} × {rows.shape[1]} from {path}; centred spread {(rows[:4096] - mean).std():.4f}, 8-bit error {error:.6f}")
            add(tar, kind + "/codes.npy", npy_bytes(codes))
            add(tar, kind + "/scales.npy", npy_bytes(scales))
            add(tar, kind + "/mean.npy", npy_bytes(mean))
            with open(os.path.join(path, "ids.txt"), "rb") as f:
                add(tar, kind + "/ids.txt", f.read())
    os.replace(target + ".tmp", target)


def unpack(source, folder):
    os.makedirs(folder, exist_ok=True)
    arrays = {}
    with lzma.open(source, "rb") as compressed, tarfile.open(fileobj=compressed, mode="r|") as tar:
        for member in tar:
            data = tar.extractfile(member).read()
            kind, name = member.name.split("/", 1)
            if kind == "files":
                if name.endswith(".npy"):
                    array = np.load(io.BytesIO(data))
                    np.save(os.path.join(folder, name), array.astype(np.int64) if array.dtype == np.int32 else array)
                else:
                    with open(os.path.join(folder, name), "wb") as f:
                        f.write(data)
            elif name == "ids.txt":
                os.makedirs(os.path.join(folder, kind), exist_ok=True)
                with open(os.path.join(folder, kind, "ids.txt"), "wb") as f:
                    f.write(data)
            else:
                arrays.setdefault(kind, {})[name] = np.load(io.BytesIO(data))
    for kind, parts in arrays.items():
        rows = (parts["codes.npy"].astype(np.float32) * parts["scales.npy"][:, None] + parts["mean.npy"]).astype(np.float32)
        store = os.path.join(folder, kind)
        os.makedirs(store, exist_ok=True)
        np.save(os.path.join(store, "part-00000.npy"), rows)
        meta = {"format": "saeml.embedding-store", "version": 1, "layout": "contiguous", "dimension": int(rows.shape[1]),
                "rows": int(rows.shape[0]), "shards": [{"file": "part-00000.npy", "rows": int(rows.shape[0])}]}
        with open(os.path.join(store, "store.json"), "w") as f:
            json.dump(meta, f, indent=2)
        print(f"{kind}: {rows.shape[0]:,} × {rows.shape[1]} in {store}")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "pack":
        pack(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "unpack":
        unpack(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
