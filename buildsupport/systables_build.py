"""The build backend: setuptools', plus the web shell built (from the committed
npm lockfile) into ``systables/web/shell`` before an sdist or a wheel is made,
so both carry it and an installed package serves the full web shell without
Node.js."""

from __future__ import annotations

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F401,F403  (the rest of the PEP 517/660 hooks)

from webshell_build import ensure_built


def build_sdist(sdist_directory, config_settings=None):  # type: ignore[no-untyped-def]
    ensure_built()
    return _setuptools.build_sdist(sdist_directory, config_settings)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):  # type: ignore[no-untyped-def]
    ensure_built()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)
