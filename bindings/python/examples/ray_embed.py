"""Dense LSeg embeddings of a large frame collection with Ray Data.

One model per actor (the weights file is memory-mapped, so actors on one node share its pages),
frames streamed through `map_batches`, one .npy of (h, w, D) float16 embeddings per frame.

    python ray_embed.py WEIGHTS FRAMES_DIR OUT_DIR [--actors 2] [--size 480]

On a cluster: start Ray on every node (`ray start --head` / `ray start --address=HEAD:6379`),
put WEIGHTS, FRAMES_DIR and OUT_DIR on storage every node sees (NFS, or s3:// paths for the
frames and the output with pyarrow's filesystems), and run this script on the head node with
`--address auto` and `--actors` = the number of CPU sockets (each actor uses all cores of its
share through `threads`). Throughput grows with the actors until the storage saturates.
"""

import argparse
import os
import pathlib
import sys

import numpy as np
import ray

import lseg


class Embedder:
    """One lseg model per actor; a batch of frames in, their embedding files out."""

    def __init__(self, weights, out_dir, size, threads):
        self.model = lseg.Model(weights, threads=threads)
        self.out = pathlib.Path(out_dir)
        self.size = size

    def __call__(self, batch):
        written = []
        for img, path in zip(batch["image"], batch["path"]):
            feats = self.model.embed(np.asarray(img, np.uint8), size=self.size, layout="hwc",
                                     dtype="f16")
            dst = self.out / (pathlib.Path(path).stem + ".npy")
            np.save(dst, feats)
            written.append(str(dst))
        return {"path": np.array(batch["path"]), "embedding": np.array(written)}


def run(weights, frames, out, actors=2, size=480, address=None):
    """Embed every image of `frames` into `out`; returns the list of written files."""
    pathlib.Path(out).mkdir(parents=True, exist_ok=True)
    # Ship Embedder by value, so that workers need not import this file.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if not ray.is_initialized():
        # Locally: a CPU per actor plus one for the readers.
        ray.init(address=address, num_cpus=None if address else actors + 1,
                 include_dashboard=False, log_to_driver=False)
    threads = max(1, (os.cpu_count() or 1) // actors)
    ds = ray.data.read_images(str(frames), include_paths=True, mode="RGB")
    ds = ds.map_batches(
        Embedder,
        fn_constructor_args=(str(weights), str(out), size, threads),
        batch_size=4,
        batch_format="numpy",
        concurrency=actors,
        num_cpus=1,
    )
    return sorted(row["embedding"] for row in ds.iter_rows())


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("weights")
    ap.add_argument("frames")
    ap.add_argument("out")
    ap.add_argument("--actors", type=int, default=2)
    ap.add_argument("--size", type=int, default=480)
    ap.add_argument("--address", default=None, help="a running Ray cluster, e.g. auto")
    a = ap.parse_args()
    files = run(a.weights, a.frames, a.out, a.actors, a.size, a.address)
    print(f"{len(files)} embeddings in {a.out}")
