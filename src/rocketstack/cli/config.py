"""Where the CLI finds the API URL and key: flags, then ROCKETSTACK_API_URL and
ROCKETSTACK_API_KEY, then a profile in the profile file, then the local default URL."""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rocketstack.client import DEFAULT_API_URL

DEFAULT_PROFILE = "default"


class ProfileError(Exception):
    """The profile file is unreadable, or the requested profile is not in it."""


@dataclass(frozen=True)
class Connection:
    api_url: str
    api_key: str | None
    # Where the key came from ("--api-key", "ROCKETSTACK_API_KEY", "profile NAME"), for errors.
    key_source: str | None


def profile_path(env: Mapping[str, str] | None = None) -> Path:
    """Return the profile file: ROCKETSTACK_CONFIG, else rocketstack/config.toml under
    XDG_CONFIG_HOME (default ~/.config)."""
    env = os.environ if env is None else env
    if env.get("ROCKETSTACK_CONFIG"):
        return Path(env["ROCKETSTACK_CONFIG"])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rocketstack" / "config.toml"


def read_profiles(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ProfileError(
            f"cannot read the profile file {path}: {error}; fix it or run `rocketstack configure`"
        ) from error
    return {
        name: {key: str(value) for key, value in table.items()}
        for name, table in document.items()
        if isinstance(table, dict)
    }


def write_profile(path: Path, name: str, values: Mapping[str, str]) -> None:
    """Store `values` under [name] in the profile file (mode 0600), keeping other profiles."""
    profiles = read_profiles(path)
    profiles[name] = {**profiles.get(name, {}), **values}
    lines: list[str] = []
    for profile, table in profiles.items():
        lines.append(f"[{json.dumps(profile)}]")
        # A JSON string with ASCII escapes is also a valid TOML basic string.
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in table.items())
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write("\n".join(lines))
    os.chmod(path, 0o600)


def resolve_connection(
    api_url: str | None,
    api_key: str | None,
    profile: str | None,
    env: Mapping[str, str] | None = None,
) -> Connection:
    """Pick the API URL and key: flags win over variables, variables over the profile."""
    env = os.environ if env is None else env
    chosen = profile or env.get("ROCKETSTACK_PROFILE") or None
    profiles = read_profiles(profile_path(env))
    if chosen is not None and chosen not in profiles:
        raise ProfileError(
            f"profile {chosen!r} is not in {profile_path(env)}; create it with "
            f"`rocketstack configure --profile {chosen}`"
        )
    name = chosen or DEFAULT_PROFILE
    values = profiles.get(name, {})

    url = api_url or env.get("ROCKETSTACK_API_URL") or values.get("api_url") or DEFAULT_API_URL
    if api_key:
        return Connection(url, api_key, "--api-key")
    if env.get("ROCKETSTACK_API_KEY"):
        return Connection(url, env["ROCKETSTACK_API_KEY"], "ROCKETSTACK_API_KEY")
    if values.get("api_key"):
        return Connection(url, values["api_key"], f"profile {name!r}")
    return Connection(url, None, None)


def has_api_settings(api_url: str | None, api_key: str | None, profile: str | None) -> bool:
    """Tell whether the user pointed the CLI at an API (a flag, a variable or a profile key)."""
    if api_url or api_key or profile:
        return True
    if os.environ.get("ROCKETSTACK_API_KEY") or os.environ.get("ROCKETSTACK_PROFILE"):
        return True
    try:
        return bool(read_profiles(profile_path()).get(DEFAULT_PROFILE, {}).get("api_key"))
    except ProfileError:
        return True
