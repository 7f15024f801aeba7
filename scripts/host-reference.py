#!/usr/bin/env python3
"""Per-clip fingerprints of a synthesised set and its scan, to tell which step differs between
two hosts (docs/model.md, "The same sets on three hosts").

usage:
  host-reference.py write SET-DIR FEATURES-DIR OUT.csv
  host-reference.py compare SET-DIR FEATURES-DIR REFERENCE.csv

SET-DIR is a `seamscan synth` output (its labels.csv holds every clip's SHA-256) and
FEATURES-DIR its scan with pipelines/training.toml. Each clip's row: its SHA-256, its number
of face rows, and a SHA-256 over its detections' exact bits (frame, face index, box and
detector score as IEEE doubles, in frame order). `compare` prints the clips whose bytes differ
(synthesis differs), then those with the same bytes but other detections (the scan differs),
and exits 1 if any differ. Needs pyarrow (pip install pyarrow).
"""

import csv
import hashlib
import struct
import sys
from collections import defaultdict

import pyarrow.dataset as ds

COLUMNS = ["sha256", "frame_index", "face_index", "box_x", "box_y", "box_w", "box_h", "det_score"]


def fingerprints(set_dir, features_dir):
    clips = {}
    with open(f"{set_dir}/labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            clips[row["sha256"]] = row["clip"]
    table = ds.dataset(f"{features_dir}/frames", format="parquet").to_table(columns=COLUMNS)
    faces = defaultdict(list)
    for r in table.to_pylist():
        if r["det_score"] is None or r["sha256"] not in clips:
            continue
        faces[r["sha256"]].append(
            (r["frame_index"], r["face_index"], r["box_x"], r["box_y"], r["box_w"], r["box_h"], r["det_score"])
        )
    out = {}
    for sha, clip in clips.items():
        rows = sorted(faces.get(sha, []))
        h = hashlib.sha256()
        for frame, index, x, y, w, hh, det in rows:
            h.update(struct.pack("<qq5d", frame, index, x, y, w, hh, det))
        out[clip] = (sha, len(rows), h.hexdigest())
    return out


def main(argv):
    if len(argv) != 5 or argv[1] not in ("write", "compare"):
        sys.exit(__doc__)
    mode, set_dir, features_dir, path = argv[1:]
    here = fingerprints(set_dir, features_dir)
    if mode == "write":
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["clip", "sha256", "face_rows", "detections_sha256"])
            for clip in sorted(here):
                w.writerow([clip, *here[clip]])
        print(f"{len(here)} clips, {sum(v[1] for v in here.values())} face rows -> {path}")
        return 0
    with open(path, newline="") as f:
        ref = {r["clip"]: (r["sha256"], int(r["face_rows"]), r["detections_sha256"]) for r in csv.DictReader(f)}
    missing = sorted(set(ref) ^ set(here))
    synth = sorted(c for c in set(ref) & set(here) if ref[c][0] != here[c][0])
    scan = sorted(c for c in set(ref) & set(here) if ref[c][0] == here[c][0] and ref[c][2] != here[c][2])
    for c in missing:
        print(f"only in one: {c}")
    for c in synth:
        print(f"clip bytes differ: {c} (face rows {ref[c][1]} -> {here[c][1]})")
    for c in scan:
        print(f"same clip, other detections: {c} (face rows {ref[c][1]} -> {here[c][1]})")
    rows_ref = sum(v[1] for v in ref.values())
    rows_here = sum(v[1] for v in here.values())
    print(
        f"{len(here)} clips: {len(synth)} with other bytes, {len(scan)} with other detections, "
        f"{len(missing)} in one only; face rows {rows_ref} (reference) -> {rows_here}"
    )
    return 1 if missing or synth or scan else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
