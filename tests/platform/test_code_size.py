"""The project's size rules for the application code: no module over 600 lines, no function
over 60 (so rules stay in modules named after their concepts, and functions stay readable)."""

import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def modules():
    return sorted(path for path in APP.rglob("*.py") if "translations" not in path.parts)


def test_no_module_is_over_600_lines():
    too_long = {
        str(path.relative_to(APP)): lines
        for path in modules()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}


def test_no_function_is_over_60_lines():
    too_long = {}
    for path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    too_long[f"{path.relative_to(APP)}:{node.lineno} {node.name}"] = lines
    assert too_long == {}
