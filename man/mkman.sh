#!/bin/sh
# Writes the man page of one program from its own --help and --version
# (help2man), plus the hand-written sections of NAME.h2m (signals, files,
# examples, see also). The options thus have one source: the program.
# usage: mkman.sh PROGRAM DESCRIPTION INCLUDE OUTPUT
set -eu
prog=$1 desc=$2 include=$3 out=$4
# Only the first --version line ("collector 0.1.0") goes into the page: the
# library versions describe one build, not the program.
version=$("$prog" --version | head -n 1)
exec help2man --no-info --no-discard-stderr --section=1 \
	--source="flowcollector ${version#* }" --version-string="${version#* }" \
	--name="$desc" --include="$include" \
	--output="$out" "$prog"
