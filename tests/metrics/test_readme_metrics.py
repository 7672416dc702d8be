"""The README lists every metric of every role, as generated from the registries."""

from __future__ import annotations

from pathlib import Path

from wamesh.gateway.metrics_doc import END, START, table


def test_readme_holds_the_generated_metric_table(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    assert START in readme, f"README.md lacks {START}: run python -m wamesh.gateway.metrics_doc"
    listed = readme.split(START, 1)[1].split(END, 1)[0].strip()
    assert listed == table(), "README's metric table is stale: python -m wamesh.gateway.metrics_doc"


def test_every_metric_appears_once_per_role() -> None:
    rows = [row.split(" | ") for row in table().splitlines()[2:]]
    pairs = [(row[0], row[1]) for row in rows]
    assert len(pairs) == len(set(pairs))
    names = {name.strip("`") for _, name in pairs}
    assert {"wamesh_lines", "wamesh_webhook_attempts_total", "wamesh_line_status"} <= names
    assert {role.strip("| ") for role, _ in pairs} == {
        "gateway",
        "webhook worker",
        "session worker",
    }
