"""tokconf's overlay loader for SGLang (runs in the ENGINE's interpreter, not tokconf's).

tokconf puts this folder first on the engine's PYTHONPATH and names an overlay in
TOKCONF_SGLANG_OVERLAY (a module of tokconf_overlays/, or a .py file). Python imports
`sitecustomize` at start-up in every process, so this runs before SGLang is imported.
It installs an import hook: when SGLang imports a module the overlay names in its PATCHES,
the module is executed as shipped and then handed to the overlay's patch function. The
installed package is never edited, and no .pth file is involved.

A patch that fails raises, so the engine does not start half-patched: the launcher then
reports the engine's death with this traceback in the log tail.
"""
import importlib
import importlib.abc
import importlib.util
import os
import sys

_VALUE = os.environ.get("TOKCONF_SGLANG_OVERLAY", "")


def _load_overlay(value):
    if value.endswith(".py"):
        spec = importlib.util.spec_from_file_location("tokconf_user_overlay", value)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    return importlib.import_module(f"tokconf_overlays.{value.replace('-', '_')}")


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Find a patched module the normal way, then run its patch right after it executes."""

    def __init__(self, name, patches):
        self.name, self.patches = name, dict(patches)

    def find_spec(self, fullname, path=None, target=None):
        patch = self.patches.get(fullname)
        if patch is None:
            return None
        sys.meta_path.remove(self)  # let the other finders find the real module
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        upstream_exec = spec.loader.exec_module

        def exec_module(module):
            upstream_exec(module)
            patch(module)
            del self.patches[fullname]
            print(f"[tokconf overlay] {self.name}: patched {fullname}", file=sys.stderr, flush=True)

        spec.loader.exec_module = exec_module
        return spec


if _VALUE:
    _overlay = _load_overlay(_VALUE)
    _name = getattr(_overlay, "NAME", _VALUE)
    _pending = {}
    for _module_name, _patch in _overlay.PATCHES.items():
        if _module_name in sys.modules:  # already imported (not expected at start-up): patch now
            _patch(sys.modules[_module_name])
        else:
            _pending[_module_name] = _patch
    if _pending:
        sys.meta_path.insert(0, _PatchAfterImport(_name, _pending))
