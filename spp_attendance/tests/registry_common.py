"""Shared helpers of the registry import tests: fixtures, schema, emulator."""

import hashlib
import json
from pathlib import Path

from .dci_emulator import DCIRegistryEmulator, examples_dir

SCHEMA_PATH = Path(__file__).with_name("dci_search_request.schema.json")


def request_validator():
    """A JSON Schema validator of the DCI sync-search request (test-only
    dependency: jsonschema, from requirements-test.txt)."""
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator, body):
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(body)
    )


def example(relative_path):
    return json.loads((examples_dir() / relative_path).read_bytes())


def fixture_digests():
    """``{file: (expected sha256, actual sha256)}`` for every fixture listed
    in the folder's manifest."""
    folder = examples_dir()
    manifest = json.loads((folder / "manifest.json").read_text())
    return {
        entry["file"]: (
            entry["sha256"],
            hashlib.sha256((folder / entry["file"]).read_bytes()).hexdigest(),
        )
        for entry in manifest["entries"]
    }


__all__ = [
    "DCIRegistryEmulator",
    "example",
    "examples_dir",
    "fixture_digests",
    "request_validator",
    "schema_errors",
]
