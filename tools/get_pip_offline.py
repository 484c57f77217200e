# -*- coding: utf-8 -*-
"""Offline stand-in for the get-pip.py bootstrap ansible-test downloads.

ansible-test builds a virtual environment per sanity test and bootstraps pip in
it with a get-pip.py fetched from a host this project's machines cannot reach.
This file does the same job from what is already here: Python's bundled pip
(ensurepip), then `pip install` with the arguments ansible-test passed, from the
package index pip is configured to use. ansible-test's --no-setuptools and
--no-wheel switches only apply to get-pip itself and are dropped.
"""

import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
