"""A wheel of an installed distribution — the harness itself — built offline.

An autograder bundle carries the harness as a wheel so that nothing is
fetched by a name the package index does not have. It is built from what is
installed, without network, build backend or build isolation (the machine
that bundles may have neither setuptools nor a connection):

- A normal install: the files pip recorded in the distribution's RECORD,
  minus what pip itself added (scripts, byte code, INSTALLER, direct_url.json).
- An editable install of a source checkout (RECORD lists only a finder): the
  packages that checkout's pyproject.toml names (`[tool.setuptools]` packages,
  package-dir, package-data), read from the checkout, with the installed
  METADATA and entry points.

Either way the result is a pure `py3-none-any` wheel for the harness (a
compiled dependency keeps its own tags); pip installs it and fetches the
dependencies (pytest, psutil, ...) by their real names. The zip is
deterministic: fixed timestamps, sorted entries, dist-info last.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import re
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from harness.errors import ConfigError

#: Files of an installed dist-info that belong to the installation, not the wheel.
INSTALL_ONLY = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}
PURE_WHEEL = "Wheel-Version: 1.0\nGenerator: harness bundle\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def harness_distribution() -> metadata.Distribution:
    """The installed distribution that provides the `harness` package."""
    names = metadata.packages_distributions().get("harness") or []
    if not names:
        raise ConfigError("cannot find the installed harness distribution (is it installed with pip?)")
    return metadata.distribution(names[0])


def build_harness_wheel(out_dir: Path) -> Path:
    """Write the installed harness as a wheel into `out_dir`; returns the wheel's path."""
    distribution = harness_distribution()
    source = editable_source(distribution)
    wheel = source_wheel(distribution, source, out_dir) if source else installed_wheel(distribution, out_dir)
    with zipfile.ZipFile(wheel) as archive:
        if "harness/__init__.py" not in archive.namelist():  # e.g. a `setup.py develop` install: no RECORD of it
            wheel.unlink()
            raise ConfigError("cannot tell which files make up the installed harness; install it with "
                              "`pip install .` (or `pip install -e .`) and bundle again")
    return wheel


def editable_source(distribution: metadata.Distribution) -> Path | None:
    """The source checkout of an editable install (None for a normal install)."""
    text = distribution.read_text("direct_url.json")
    if not text:
        return None
    try:
        origin = json.loads(text)
    except ValueError:
        return None
    if not (origin.get("dir_info") or {}).get("editable"):
        return None
    url = urlparse(origin.get("url", ""))
    return Path(unquote(url.path)) if url.scheme == "file" else None


def installed_wheel(distribution: metadata.Distribution, out_dir: Path) -> Path:
    """A wheel from the files pip recorded for a normal install."""
    info = _dist_info_name(distribution)
    files: dict[str, bytes] = {}
    for path in distribution.files or []:
        parts = path.parts
        if parts[0] == ".." or "__pycache__" in parts or path.suffix == ".pyc":
            continue
        name = path.as_posix()
        if parts[0].endswith(".dist-info"):
            if path.name in INSTALL_ONLY:
                continue
            name = "/".join((info, *parts[1:]))  # the on-disk folder may be spelled differently
        files[name] = Path(distribution.locate_file(path)).read_bytes()
    wheel_meta = files.get(f"{info}/WHEEL", PURE_WHEEL.encode()).decode()
    files[f"{info}/WHEEL"] = wheel_meta.encode()
    return write_wheel(out_dir, info, files, _first_tag(wheel_meta))


def source_wheel(distribution: metadata.Distribution, source: Path, out_dir: Path) -> Path:
    """A wheel from an editable checkout: its packages as pyproject.toml declares them."""
    pyproject = source / "pyproject.toml"
    try:
        config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]
        packages: list[str] = config["packages"]
    except (OSError, ValueError, KeyError) as error:
        raise ConfigError(f"cannot read the package list of the harness checkout ({pyproject}): {error}") from None
    package_dirs: dict[str, str] = config.get("package-dir", {})
    package_data: dict[str, list[str]] = config.get("package-data", {})
    files: dict[str, bytes] = {}
    for package in packages:
        folder = source / package_dirs.get(package, package.replace(".", "/"))
        patterns = ["*.py", *package_data.get(package, []), *package_data.get("*", [])]
        for path in sorted(folder.iterdir()):
            if path.is_file() and any(fnmatch.fnmatch(path.name, p) for p in patterns):
                files[f"{package.replace('.', '/')}/{path.name}"] = path.read_bytes()
    info = _dist_info_name(distribution)
    for name in ("METADATA", "entry_points.txt", "top_level.txt"):
        text = distribution.read_text(name)
        if text is not None:
            files[f"{info}/{name}"] = text.encode()
    files[f"{info}/WHEEL"] = PURE_WHEEL.encode()
    return write_wheel(out_dir, info, files, "py3-none-any")


def write_wheel(out_dir: Path, info: str, files: dict[str, bytes], tag: str) -> Path:
    """Zip `files` (archive name -> bytes) with a RECORD as `NAME-VERSION-TAG.whl`."""
    record_name = f"{info}/RECORD"
    ordered = sorted(files, key=lambda name: (name.startswith(info + "/"), name))
    record = [f"{name},sha256={_digest(files[name])},{len(files[name])}" for name in ordered]
    record.append(f"{record_name},,")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{info.removesuffix('.dist-info')}-{tag}.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ordered:
            archive.writestr(zip_entry(name), files[name])
        archive.writestr(zip_entry(record_name), "\n".join(record) + "\n")
    return target


def _dist_info_name(distribution: metadata.Distribution) -> str:
    """`socket_conformance_harness-0.1.0.dist-info`: the wheel's normalized name and version."""
    name = re.sub(r"[-_.]+", "_", distribution.metadata["Name"]).lower()
    return f"{name}-{distribution.version}.dist-info"


def _first_tag(wheel_meta: str) -> str:
    tags = [line.split(":", 1)[1].strip() for line in wheel_meta.splitlines() if line.startswith("Tag:")]
    return tags[0] if tags else "py3-none-any"


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def zip_entry(name: str, mode: int = 0o644) -> zipfile.ZipInfo:
    """A zip member with a fixed timestamp and Unix permissions (unzip restores them)."""
    entry = zipfile.ZipInfo(name, ZIP_TIME)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry.external_attr = mode << 16
    return entry
