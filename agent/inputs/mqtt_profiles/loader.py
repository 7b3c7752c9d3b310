"""Find and load device profiles: built-in ones (``profiles/*.yaml`` beside this module) and
any in the directories a config names. A bad file is refused with ``file:line: message``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from agent.inputs.mqtt_profiles.model import Profile
from campusguard.config.loader import load_yaml
from campusguard.errors import ConfigError

BUILTIN_DIR: Final = Path(__file__).resolve().parent / "profiles"


def builtin_profiles() -> tuple[str, ...]:
    """Names of the profiles shipped with CampusGuard."""
    return tuple(sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml")))


def resolve_profile(name: str, dirs: Sequence[str | os.PathLike[str]] = ()) -> Path:
    """The file of profile ``name``: a path to a ``.yaml`` file, or a name looked up in
    ``dirs`` first and then among the built-in profiles. Raises :class:`ConfigError`."""
    if name.endswith((".yaml", ".yml")) or "/" in name:
        return Path(name)
    for folder in (*(Path(d) for d in dirs), BUILTIN_DIR):
        candidate = folder / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    known = ", ".join(builtin_profiles())
    raise ConfigError([(name, None, f"unknown device profile {name!r} (built in: {known})")])


def load_profile(path: str | os.PathLike[str]) -> Profile:
    """Load one profile file; its ``profile`` name must be the file's stem."""
    profile = load_yaml(path, Profile)
    stem = Path(path).stem
    if profile.profile != stem:
        message = f"profile: the name {profile.profile!r} must match the file name {stem!r}"
        raise ConfigError([(os.fspath(path), 1, message)])
    return profile


def load_profiles(
    names: Sequence[str], dirs: Sequence[str | os.PathLike[str]] = ()
) -> tuple[Profile, ...]:
    """Every named profile, in order; all problems of all files in one ConfigError."""
    problems: list[tuple[str, int | None, str]] = []
    found: list[Profile] = []
    for name in names:
        try:
            found.append(load_profile(resolve_profile(name, dirs)))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return tuple(found)
