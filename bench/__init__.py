"""Benchmarks: run each as a module from the repository root, e.g. ``.venv/bin/python -m bench.ubl``.

Run as modules, not as scripts: ``python bench/facturx.py`` would put ``bench/`` first on the
import path, where ``facturx.py`` hides the factur-x library.
"""
