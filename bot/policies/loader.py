"""Read policy files into a PolicySet, turning every problem into one `file:line: ...` line.

The YAML is composed into nodes first so each key and list item keeps its line; pydantic's
error locations and the schema's own PolicyProblems are then mapped back onto those lines.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
import types
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from bot.policies.policy import Policy
from bot.policies.policy_set import PolicySet, set_problems
from bot.policies.problems import Loc, PolicyProblems, format_loc

Marks = dict[Loc, int]


class PolicyLoadError(ValueError):
    """Policies that could not be loaded; `errors` holds one `file:line: message` per problem."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("\n".join(errors))


# libyaml's parser when PyYAML was built with it (several times faster), else PyYAML's own.
try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _StrictLoader(_SafeLoader):
    """SafeLoader with YAML 1.2 style scalars.

    YAML 1.1 reads `18:00` as the number 1080, `NO` (Norway) as false and `0900` as octal;
    none of that is what a support lead means, so only true/false, decimal numbers, null and
    dates are resolved and everything else stays text.
    """


_StrictLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?(?:0|[1-9][0-9]*)", "-+0123456789"),
    ("float", r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", "-+0123456789."),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("timestamp", r"[0-9]{4}-[0-9]{2}-[0-9]{2}", "0123456789"),
):
    _StrictLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(f"^(?:{_pattern})$"), list(_first)
    )


def _walk(node: yaml.Node, path: Loc, marks: Marks, duplicates: list[tuple[Loc, int]]) -> None:
    """Record the line of every key and list item (1-based), and any key given twice."""
    marks.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key_path = (*path, key_node.value)
            if key_node.value in seen:
                duplicates.append((key_path, key_node.start_mark.line + 1))
            seen.add(key_node.value)
            marks[key_path] = key_node.start_mark.line + 1
            _walk(value_node, key_path, marks, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), marks, duplicates)


def _line(marks: Marks, loc: Loc) -> int:
    for size in range(len(loc), -1, -1):
        if loc[:size] in marks:
            return marks[loc[:size]]
    return 1


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model whose keys are valid at `loc`, to suggest the key that was meant."""
    current: Any = Policy
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {(f.alias or n): f for n, f in current.model_fields.items()}
            if part not in fields:
                return None
            current = fields[part].annotation
        elif get_origin(current) in (tuple, list, dict):
            current = get_args(current)[-1 if get_origin(current) is dict else 0]
        else:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _message(error: Any) -> tuple[Loc, str]:
    """A support lead's wording for one pydantic error, and the location to show with it."""
    loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
    if kind == "missing":
        return loc[:-1], f"missing required key '{loc[-1]}'"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = [f.alias or n for n, f in model.model_fields.items()] if model else []
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
        return loc[:-1], f"unknown key '{loc[-1]}': {hint}"
    if kind == "value_error":
        return loc, str(error["ctx"]["error"])
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return loc, f"expected a mapping of keys to values, got {_describe(value)}"
    if kind in ("list_type", "tuple_type"):
        return loc, f"expected a list, got {_describe(value)}"
    if kind == "string_type":
        return loc, f"expected text, got {_describe(value)}"
    if kind in ("bool_type", "bool_parsing"):
        return loc, f"expected true or false, got {_describe(value)}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return loc, f"expected a whole number, got {_describe(value)}"
    if kind == "literal_error":
        return loc, f"expected {error['ctx']['expected']}, got {_describe(value)}"
    if kind == "greater_than_equal":
        return loc, f"must be at least {error['ctx']['ge']}, got {_describe(value)}"
    if kind == "string_too_short":
        return loc, "must not be empty"
    return loc, error["msg"]


def _lines(name: str, marks: Marks, problems: list[tuple[Loc, str, Loc]]) -> list[str]:
    """`file:line: location: message` for (location, message, location shown), by line."""
    ordered = sorted(problems, key=lambda problem: _line(marks, problem[0]))
    return [
        f"{name}:{_line(marks, loc)}: {format_loc(shown) + ': ' if shown else ''}{message}"
        for loc, message, shown in ordered
    ]


def _yaml_error(name: str, error: yaml.MarkedYAMLError) -> str:
    mark = error.problem_mark or error.context_mark
    problem = error.problem or error.context or "not valid YAML"
    if "single document" in str(error.context):
        problem = "one policy per file: this file holds more than one YAML document"
    return f"{name}:{mark.line + 1 if mark else 1}: YAML syntax: {problem}{_yaml_hint(problem)}"


def _yaml_hint(problem: str) -> str:
    """PyYAML names the parser's state; say what usually causes it."""
    if "'\\t'" in problem:
        return ": indent with spaces, not tabs"
    if "block end" in problem or "block mapping" in problem or "block collection" in problem:
        return ": check the indentation of this line and the one above"
    if "mapping values are not allowed" in problem:
        return ": put text that contains ': ' in quotes"
    return ""


def _load_file(path: Path) -> tuple[Policy | None, Marks, list[str]]:
    """The policy in one file, the line of each key in it, and its problems."""
    name = str(path)
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return None, {}, [f"{name}:1: cannot read the file: {error}"]
    policy, marks, errors = _parse(name, source)
    return policy, dict(marks), list(errors)


@functools.lru_cache(maxsize=64)
def _parse(name: str, source: str) -> tuple[Policy | None, Marks, list[str]]:
    """What `_load_file` finds in `source`: the same text always gives the same (immutable)
    policy, so a process that builds many bots (the tests) parses and validates it once."""
    loader = _StrictLoader(source)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        return None, {}, [_yaml_error(name, error)]
    finally:
        loader.dispose()
    if node is None or not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        return (
            None,
            {},
            [f"{name}:{line}: a policy file holds one mapping: id, name, severities..."],
        )

    marks: Marks = {}
    duplicates: list[tuple[Loc, int]] = []
    _walk(node, (), marks, duplicates)
    if duplicates:
        twice = [(loc, f"key '{loc[-1]}' appears twice", loc) for loc, _ in duplicates]
        return None, marks, _lines(name, marks, twice)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        found = []
        for item in error.errors(include_url=False):
            shown, message = _message(item)
            found.append((tuple(item["loc"]), message, shown))
        return None, marks, _lines(name, marks, found)
    except PolicyProblems as error:
        return None, marks, _lines(name, marks, [(loc, m, loc) for loc, m in error.problems])
    return policy.with_source(name), marks, []


def _policy_files(path: Path) -> tuple[list[Path], list[str]]:
    if path.is_dir():
        files = sorted(
            p
            for p in path.iterdir()
            if p.suffix in (".yaml", ".yml") and not p.name.startswith(".") and p.is_file()
        )
        return files, [] if files else [f"{path}: no policy files (*.yaml, *.yml) in this folder"]
    if path.is_file():
        return [path], []
    return [], [f"{path}: no such file or folder"]


def _load(path: str | os.PathLike[str]) -> tuple[list[Policy], list[str]]:
    files, errors = _policy_files(Path(path))
    loaded: list[tuple[Policy, Marks]] = []
    for file in files:
        policy, marks, file_errors = _load_file(file)
        errors += file_errors
        if policy is not None:
            loaded.append((policy, marks))
    policies = [policy for policy, _ in loaded]
    for index, loc, message in set_problems(policies):
        policy, marks = loaded[index]
        errors += _lines(policy.source_path or policy.id, marks, [(loc, message, loc)])
    return policies, errors


def check_policies(path: str | os.PathLike[str]) -> list[str]:
    """Every problem in the policy file or folder at `path`, one line each; empty when fine."""
    return _load(path)[1]


def load_policies(path: str | os.PathLike[str]) -> PolicySet:
    """Load a policy file or a folder of them; raises PolicyLoadError listing every problem."""
    policies, errors = _load(path)
    if errors:
        raise PolicyLoadError(errors)
    return PolicySet(policies)
