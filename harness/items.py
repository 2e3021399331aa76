"""From a TaskSpec to items, few-shot exemplars and rendered prompts."""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any

import jinja2

from harness import registry
from harness.data import reading
from harness.errors import GenrankError
from harness.spec import TaskSpec, validate
from harness.types import Item


def load_items(spec: TaskSpec, limit: int | None = None) -> list[Item]:
    """The task's items in file order (first ``limit`` of them), ids checked unique."""
    validate(spec)
    with reading(spec):  # a damaged data file: one line naming file, task, field
        items = registry.LOADERS[spec.loader](spec, spec.source)
    ids = [it.id for it in items]
    if len(set(ids)) != len(ids):
        raise GenrankError("loader produced duplicate item ids", file=spec.file, task=spec.name,
                           field="loader")
    if not items:
        raise GenrankError("the task has no items", file=spec.file, task=spec.name, field="source")
    if "dataset_digest" not in spec.__dict__:  # memoised on the (frozen) spec, as cached_property does
        from harness.runspec import item_digest

        spec.__dict__["dataset_digest"] = item_digest(items)
        spec.__dict__["n_dataset"] = len(items)
    return items[:limit] if limit else items


def fewshot_pool(spec: TaskSpec) -> list[Item]:
    """The whole few-shot source (a task's training side); empty if the task has none."""
    fs = spec.fewshot or {}
    if "source" not in fs:
        return []
    return registry.LOADERS[fs.get("loader", spec.loader)](spec, fs["source"])


def load_fewshot(spec: TaskSpec) -> list[Item]:
    """k exemplars drawn with a fixed seed from the few-shot source (same for every item)."""
    if not spec.fewshot:
        return []
    fs = spec.fewshot
    k, seed = int(fs.get("k", 0)), int(fs.get("seed", 1234))
    if k <= 0:
        return []
    if "source" not in fs:
        raise GenrankError("few-shot needs a source", file=spec.file, task=spec.name,
                           field="fewshot.source")
    with reading(spec, "fewshot.source"):
        pool = registry.LOADERS[fs.get("loader", spec.loader)](spec, fs["source"])
    return random.Random(seed).sample(pool, min(k, len(pool)))


_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                          autoescape=False)


@lru_cache(maxsize=256)
def _template(text: str) -> jinja2.Template:
    return _ENV.from_string(text)


def render_prompt(spec: TaskSpec, item: Item, fewshot: list[Item]) -> str:
    """The prompt template sees the item's fields, ``item`` itself and ``fewshot``."""
    context: dict[str, Any] = {**item.fields, "item": item, "fewshot": fewshot}
    try:
        return _template(spec.prompt).render(**context)
    except jinja2.TemplateError as exc:
        raise GenrankError(f"prompt template: {exc}", file=spec.file, task=spec.name,
                           field="prompt") from None


def render_prompts(spec: TaskSpec, items: list[Item]) -> list[str]:
    fewshot = load_fewshot(spec)
    return [render_prompt(spec, it, fewshot) for it in items]
