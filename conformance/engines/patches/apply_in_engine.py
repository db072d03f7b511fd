"""Apply a fork's own source patch to a private copy of the engine's package (runs in the ENGINE's
interpreter, launched by tokconf with `python apply_in_engine.py REQUEST_JSON`; stdlib only).

The users of such a patch run it against their installed engine: a function of the fork's package
rewrites the engine's source files in place, anchor by anchor. tokconf runs that same function,
unchanged, but against a shadow of the engine's package: a folder tree whose entries are symlinks
to the installed package, except the files the patch rewrites, which are copies. `import PKG` with
the shadow first on sys.path then finds the shadow, so the function's own way of locating the
package (PKG.__file__) lands on the copies. The installed engine is never edited, so one virtualenv
serves the upstream engine and the patched one, and a failed patch leaves nothing half-done behind.

Prints one JSON object on its last stdout line: what the patch function logged, what it returned,
versions and digests. The caller (conformance.engines.patches) judges it.
"""
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import sys


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def build_shadow(package_dir, shadow_root, package, targets):
    """shadow_root/package mirrors package_dir: real folders along each target's path, copies of the
    targets, symlinks for everything else."""
    copied = set(targets)
    along = {os.path.dirname(t) for t in targets}
    for t in list(along):  # every folder on the way down to a target
        while t:
            t = os.path.dirname(t)
            along.add(t)
    along.add("")
    for rel in sorted(along):
        src, dst = os.path.join(package_dir, rel), os.path.join(shadow_root, package, rel)
        os.makedirs(dst, exist_ok=True)
        for entry in os.listdir(src):
            child = os.path.join(rel, entry) if rel else entry
            if child in along or entry == "__pycache__":
                continue
            if child in copied:
                with open(os.path.join(src, entry), "rb") as f_in, open(os.path.join(dst, entry), "wb") as f_out:
                    f_out.write(f_in.read())
            else:
                os.symlink(os.path.join(src, entry), os.path.join(dst, entry))


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append({"level": record.levelname, "message": record.getMessage()})


def main(request):
    out = {"records": [], "returned": None, "error": None}
    package = request["engine_package"]
    spec = importlib.util.find_spec(package)  # top-level: finds it without running its __init__
    if spec is None or not spec.submodule_search_locations:
        out["error"] = f"no {package} installed in this interpreter"
        return out
    package_dir = list(spec.submodule_search_locations)[0]
    out["engine_version"] = importlib.metadata.version(request["engine_distribution"])
    owner = importlib.util.find_spec(request["patch_package"])
    if owner is None or not owner.submodule_search_locations:
        out["error"] = (f"no {request['patch_distribution']} installed in this interpreter "
                        f"(pip install --no-deps {request['patch_distribution']}=={request['patch_version']})")
        return out
    out["patch_version"] = importlib.metadata.version(request["patch_distribution"])
    if out["patch_version"] != request["patch_version"]:  # another release's patch: never run it
        out["error"] = (f"the engine's interpreter has {request['patch_distribution']} {out['patch_version']}, "
                        f"not {request['patch_version']}")
        return out
    module_path = os.path.join(list(owner.submodule_search_locations)[0], request["patch_module"])
    if not os.path.isfile(module_path):
        out["error"] = f"{request['patch_distribution']} {out['patch_version']} has no {request['patch_module']}"
        return out
    out["patch_module"] = module_path
    out["patch_module_sha256"] = digest(module_path)
    missing = [t for t in request["targets"] if not os.path.isfile(os.path.join(package_dir, t))]
    if missing:
        out["error"] = f"{package} {out['engine_version']} has no {', '.join(missing)}"
        return out
    shadow = request["shadow_dir"]
    build_shadow(package_dir, shadow, package, request["targets"])
    out["before"] = {t: digest(os.path.join(package_dir, t)) for t in request["targets"]}
    sys.path.insert(0, shadow)
    # the patch's module, loaded by file path: its package's __init__ may import what the engine lacks
    mod_spec = importlib.util.spec_from_file_location("tokconf_source_patch", module_path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    collect = Collect()
    logger = getattr(module, "logger", None) or logging.getLogger(module.__name__)
    logger.addHandler(collect)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        out["returned"] = getattr(module, request["entry"])()
    except Exception as exc:  # the patch function itself crashed: reported, never half-applied
        out["error"] = f"{request['entry']}() raised {type(exc).__name__}: {exc}"
    out["records"] = collect.records
    # tokconf's broken variant: its edits on the patched copy, after the fork's own code ran
    out["edit_errors"] = []
    for i, edit in enumerate(request.get("edits", [])):
        path = os.path.join(shadow, package, edit["file"])
        with open(path) as f:
            text = f.read()
        found = text.count(edit["old"])
        if found != 1:
            out["edit_errors"].append(f"variant edit {i + 1} ({edit['file']}) matches {found} places, not one")
            continue
        with open(path, "w") as f:
            f.write(text.replace(edit["old"], edit["new"], 1))
    loaded = sys.modules.get(package)
    out["package_file"] = getattr(loaded, "__file__", None)
    out["shadow_dir"] = shadow
    out["after"] = {t: digest(os.path.join(shadow, package, t)) for t in request["targets"]}
    out["installed_untouched"] = all(digest(os.path.join(package_dir, t)) == out["before"][t]
                                     for t in request["targets"])
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        req = json.load(f)
    result = main(req)
    sys.stdout.flush()
    print(json.dumps(result))
