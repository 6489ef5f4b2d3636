"""Import exported source as a module, as a user shipping it would (for the export tests)."""

from __future__ import annotations

import importlib.util


def import_exported(text: str, tmp_path, name: str):
    """Write ``text`` to ``tmp_path/name.py`` and import it as the module ``name``."""
    path = tmp_path / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
