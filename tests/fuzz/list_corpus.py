#!/usr/bin/env python3
"""Prints the regular files of a corpus directory, one per line, sorted."""
import os
import sys

d = sys.argv[1]
if os.path.isdir(d):
    for name in sorted(os.listdir(d)):
        if os.path.isfile(os.path.join(d, name)) and not name.startswith(('.', 'README')):
            print(name)
