#!/usr/bin/env python3
"""Make values.schema.json from values.schema.yaml, as the chart's own tools/generate-json-schema.py
does at release: the same schema with every "description" removed (those feed the chart's docs).

Adapted from zero-to-jupyterhub-k8s tools/generate-json-schema.py (BSD-3-Clause; README.md here
names the version). Run it after replacing values.schema.yaml; tests/test_deploy.py checks that
the JSON beside it is this script's output.
"""
import json
from collections.abc import MutableMapping
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def clean_jsonschema(d):
    """Drop "description" at every level, but not a chart setting that happens to be called so:
    below "properties" the keys are setting names, so that level is stepped over."""
    d.pop("description", None)
    for value in d.get("properties", {}).values():
        if isinstance(value, MutableMapping):
            clean_jsonschema(value)


def generate():
    schema = yaml.safe_load((HERE / "values.schema.yaml").read_text())
    clean_jsonschema(schema)
    return json.dumps(schema)  # as the chart's script writes it: one line, keys in file order


if __name__ == "__main__":
    (HERE / "values.schema.json").write_text(generate())
    print(f"{HERE / 'values.schema.json'} written")
