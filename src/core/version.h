/*
 * What every program prints for --version: its version and the exact
 * commit it was built from (`git describe` at build time, or the release
 * version in a tarball build), the versions of the libraries it runs with
 * (asked at run time, so a package upgraded under us shows up), and the
 * optional features compiled in. One function for all programs, so
 * collector, flowcat, flowgen and later flowsink print the same lines.
 */
#ifndef FC_VERSION_H
#define FC_VERSION_H

#include <stdio.h>

/* Writes the version block for program (its name, e.g. "collector") to
 * out. The first line is "PROGRAM VERSION" as help2man expects. */
void fc_version_print(FILE *out, const char *program);

#endif
