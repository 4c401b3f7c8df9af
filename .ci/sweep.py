"""Removes the build outputs in a cargo target directory that a later build superseded.

    python3 .ci/sweep.py TARGET_DIR STAMP

CI keeps one target directory between runs, and every clone it checks out
builds our crates under new hashes; cargo never removes the old ones, so the
cache grew by gigabytes a run until the disk was full. An output is one name
and hash (`deps/libfoo-<hash>.rlib` and `.rmeta`, `.fingerprint/foo-<hash>`,
`build/foo-<hash>`, `incremental/foo-<hash>`). Where some output of a name was
written after STAMP (the previous run's start) and others were not, the others
are superseded and go. A name nothing rebuilt keeps all its outputs, since
crates built in several configurations are all still in use; at worst a
swept output is built again.
"""

import os
import re
import shutil
import sys
from collections import defaultdict

# Cargo's metadata hash is 16 hex digits; an incremental session's is 13 base-36 ones.
OUTPUT = re.compile(r"^(?P<name>.+)-(?P<hash>[0-9a-f]{16}|[0-9a-z]{13})(?P<ext>\..+)?$")
KINDS = {"deps", "build", ".fingerprint", "incremental"}


def newest(path):
    """When an output was last written: a directory counts its files' times too."""
    times = [os.lstat(path).st_mtime]
    if os.path.isdir(path) and not os.path.islink(path):
        for entry in os.scandir(path):
            times.append(entry.stat(follow_symlinks=False).st_mtime)
    return max(times)


def sweep(kind_dir, since):
    outputs = defaultdict(lambda: defaultdict(list))
    for entry in os.scandir(kind_dir):
        match = OUTPUT.match(entry.name)
        if match:
            outputs[match["name"]][match["hash"]].append(entry.path)
    freed = 0
    for hashes in outputs.values():
        written = {h: max(newest(p) for p in paths) for h, paths in hashes.items()}
        if not any(t > since for t in written.values()):
            continue
        for h, paths in hashes.items():
            if written[h] > since:
                continue
            for path in paths:
                if os.path.isdir(path) and not os.path.islink(path):
                    freed += sum(
                        os.lstat(os.path.join(root, f)).st_size
                        for root, _, files in os.walk(path)
                        for f in files
                    )
                    shutil.rmtree(path)
                else:
                    freed += os.lstat(path).st_size
                    os.remove(path)
    return freed


def main():
    target, stamp = sys.argv[1], sys.argv[2]
    if not os.path.exists(stamp):
        return
    since = os.stat(stamp).st_mtime
    freed = 0
    for root, dirs, _ in os.walk(target):
        # A profile directory (`debug`, `workflow/release`, ...) is the one with fingerprints.
        if ".fingerprint" in dirs:
            for kind in [d for d in dirs if d in KINDS]:
                freed += sweep(os.path.join(root, kind), since)
            dirs[:] = [d for d in dirs if d not in KINDS]
        # Profiles sit at most three levels down (`fuzz/<triple>/release`).
        if root[len(target):].count(os.sep) >= 3:
            dirs[:] = []
    print(f"swept {freed / 2**30:.1f} GiB of superseded build outputs from {target}")


if __name__ == "__main__":
    main()
