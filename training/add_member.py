#!/usr/bin/env python3
"""Put a second network into a model file as its member (training/FORMATS.md, "Members").

The engine runs both networks on the same input and applies the mean of their gains (and of their
speech probabilities). Two networks trained apart err in different places, so their mean errs less
than either. Both files stay as they are; --out gets the base's tensors and metadata unchanged plus,
with --member, the member's under the prefix `member.` (dtypes kept, so an f16 base stays f16), or with
--bundled NAME only the metadata key `member` = NAME (the runtime holds that model already). A --member
file may have a member of its own (written by this script): the result then runs a chain of networks,
all weighed alike, at most MAX_NETWORKS in one file.

    python training/add_member.py --base B --member C --out B_C          # two networks
    python training/add_member.py --base A --member B_C --out A_B_C      # three

    python training/add_member.py --base HQ_WITHOUT_MEMBER --bundled standard \\
        --out models/hq.safetensors --description "..."
    python training/add_member.py --base models/hq.safetensors --drop --out HQ_WITHOUT_MEMBER
    python training/add_member.py --base models/hq.safetensors --take-member --out HQ_MEMBER_CHAIN
"""

from __future__ import annotations

import argparse
import os

from safetensors import safe_open
from safetensors.numpy import save_file

PREFIX = "member."
KEY = "member"
MAX_NETWORKS = 4  # libquell's MAX_NETWORKS


def networks(tensors, meta) -> int:
    """How many networks a file runs: its own and its members' (a named bundled member counts one)."""
    n, p = 1, PREFIX
    while any(k.startswith(p) for k in tensors) or (p[: -len(PREFIX)] + KEY) in meta:
        n += 1
        p += PREFIX
    return n


def read(path: str):
    with safe_open(path, framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def drop(tensors, meta, out):
    """Write `out` with the file's own network only: its tensors and metadata without the member's."""
    own_t = {k: v for k, v in tensors.items() if not k.startswith(PREFIX)}
    own_m = {k: v for k, v in meta.items() if not k.startswith(PREFIX) and k != KEY}
    if len(own_t) == len(tensors) and len(own_m) == len(meta):
        raise SystemExit("--base has no member to drop")
    save_file(own_t, out + ".tmp", metadata=own_m)
    os.replace(out + ".tmp", out)
    print(f"wrote {out}: {len(own_t)} tensors, without the member")


def take_member(tensors, meta, out):
    """Write `out` with the file's member (and the member's own members) as a file of its own."""
    mem_t = {k[len(PREFIX):]: v for k, v in tensors.items() if k.startswith(PREFIX)}
    mem_m = {k[len(PREFIX):]: v for k, v in meta.items() if k.startswith(PREFIX)}
    if not mem_t:
        raise SystemExit("--base carries no member's tensors to take")
    save_file(mem_t, out + ".tmp", metadata=mem_m)
    os.replace(out + ".tmp", out)
    print(f"wrote {out}: the member alone, {networks(mem_t, mem_m)} network(s), {len(mem_t)} tensors")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", required=True, help="model file whose name, heads and settings the result keeps")
    who = ap.add_mutually_exclusive_group(required=True)
    who.add_argument("--member", help="model file whose tensors the result carries as its member")
    who.add_argument("--bundled", help="name of a bundled model (models/NAME.safetensors) to name as the "
                                       "member instead: the file stays small, the runtime already holds it")
    who.add_argument("--drop", action="store_true", help="the reverse: write the base's own network without "
                                                         "its member (e.g. to train the shipped hq's network on)")
    who.add_argument("--take-member", action="store_true", help="write the base's member (with its own members) "
                                                                "as a file of its own, e.g. to run it alone")
    ap.add_argument("--out", required=True, help="file to write (may be --base)")
    ap.add_argument("--description", default=None, help="replace the base's description (what users see)")
    ap.add_argument("--name", default=None, help="replace the base's name (e.g. a trained run's file shipped as hq)")
    ap.add_argument("--parity", default=None, help="the base's parity fixture (export.py --parity-out): copied "
                                                   "to --parity-out naming --out as its model, for tests/parity.rs")
    ap.add_argument("--parity-out", default=None, help="where --parity's copy goes")
    args = ap.parse_args()
    base_t, base_m = read(args.base)
    if args.drop:
        drop(base_t, base_m, args.out)
        return
    if args.take_member:
        take_member(base_t, base_m, args.out)
        return
    mem_path = args.member or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models",
                                           f"{args.bundled}.safetensors")
    mem_t, mem_m = read(mem_path)
    if any(k.startswith(PREFIX) for k in list(base_t) + list(base_m)) or KEY in base_m:
        raise SystemExit("--base already has a member: give the chain as --member instead")
    if args.bundled and networks(mem_t, mem_m) > 1:
        raise SystemExit(f"bundled '{args.bundled}' has a member: the runtime refuses that")
    if 1 + networks(mem_t, mem_m) > MAX_NETWORKS:
        raise SystemExit(f"more than {MAX_NETWORKS} networks in one file")
    if (base_m.get("sample_rate"), base_m.get("hop")) != (mem_m.get("sample_rate"), mem_m.get("hop")):
        raise SystemExit("the two files disagree on sample_rate/hop")
    tensors = dict(base_t)
    meta = dict(base_m)
    if args.bundled:
        meta[KEY] = args.bundled
    else:
        tensors.update({PREFIX + k: v for k, v in mem_t.items()})
        meta.update({PREFIX + k: v for k, v in mem_m.items()})
    if args.description is not None:
        meta["description"] = args.description
    if args.name is not None:
        meta["name"] = args.name
    tmp = args.out + ".tmp"
    save_file(tensors, tmp, metadata=meta)
    os.chmod(tmp, 0o644)
    os.replace(tmp, args.out)
    if args.parity:
        # The file's own network is the base's, tensor for tensor, so the base's fixture holds for it.
        par_t, par_m = read(args.parity)
        par_m["model"] = os.path.relpath(os.path.abspath(args.out),
                                         os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        save_file(par_t, args.parity_out, metadata=par_m)
        os.chmod(args.parity_out, 0o644)
        print(f"wrote {args.parity_out} (model {par_m['model']})")
    n = sum(v.size for v in mem_t.values())
    print(f"wrote {args.out}: {os.path.basename(args.base)} with {os.path.basename(mem_path)} as its member "
          f"({networks(tensors, meta)} networks; the member's {n} parameters, {os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
