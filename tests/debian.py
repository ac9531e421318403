"""Debian's packages that tests need, installed when missing (as root, with apt-get), so that
the project's CI on a fresh machine runs them instead of skipping them."""

from __future__ import annotations

import os
import shutil
import subprocess


class PackageUnavailable(RuntimeError):
    """The package is missing and could not be installed; the message says what to do."""


def install(package: str) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PackageUnavailable(
            f"Debian's {package!r} package is not installed: apt-get install {package}, or run "
            "the tests as root to have it installed")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # A failed update (a mirror down) may still leave a usable package list: the install says.
    subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
    done = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise PackageUnavailable(f"apt-get install {package} failed: "
                                 f"{done.stderr.strip()[-500:]}")
