#!/usr/bin/env python3
"""Fails when [workspace.dependencies] declares an entry no member inherits."""
import sys
import tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
workspace = tomllib.loads((root / "Cargo.toml").read_text())["workspace"]
inherited = set()
for member in workspace["members"]:
    manifest = tomllib.loads((root / member / "Cargo.toml").read_text())
    tables = [manifest] + list(manifest.get("target", {}).values())
    for table in tables:
        for section in ("dependencies", "dev-dependencies", "build-dependencies"):
            for name, spec in table.get(section, {}).items():
                if isinstance(spec, dict) and spec.get("workspace"):
                    inherited.add(name)
unused = sorted(set(workspace.get("dependencies", {})) - inherited)
if unused:
    print("unused [workspace.dependencies] entries:", ", ".join(unused), file=sys.stderr)
    sys.exit(1)
print("every [workspace.dependencies] entry is used")
