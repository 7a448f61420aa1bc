#!/usr/bin/env bash
# Reproducible tar.gz of one folder: the same tree gives the same bytes, whatever the
# files' mtimes, owners, the directory's readdir order or the time of day.
#   --sort=name                 entries in name order, not the file system's
#   --mtime=@EPOCH              every mtime is SOURCE_DATE_EPOCH (the commit's time)
#   --owner/--group=0 --numeric-owner   no build user's names or ids
#   --format=gnu                one header format (no pax atime/ctime records)
#   gzip -n                     no file name or time in the gzip header
# Usage: packaging/tarball.sh PARENT_DIR NAME EPOCH OUT.tar.gz   (archives PARENT_DIR/NAME)
# build.sh makes the release tar.gz with it; test_bundle.sh re-tars a copy and compares.
set -euo pipefail
[[ $# -eq 4 ]] || { echo "usage: tarball.sh PARENT_DIR NAME EPOCH OUT.tar.gz" >&2; exit 2; }
parent=$1 name=$2 epoch=$3 out=$4
[[ -d "$parent/$name" ]] || { echo "tarball.sh: $parent/$name is not a folder" >&2; exit 2; }
LC_ALL=C tar -C "$parent" --sort=name --mtime="@$epoch" --owner=0 --group=0 --numeric-owner \
  --format=gnu -cf - "$name" | gzip -n -6 > "$out"
