"""Naming helpers: snake/camel/pascal/kebab, singular/plural of table names, humane words."""

from __future__ import annotations

import re

SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")

_IRREGULAR = {"people": "person", "children": "child", "men": "man", "women": "woman", "data": "data",
              "media": "media", "series": "series", "news": "news", "statuses": "status", "addresses": "address"}
_IRREGULAR_PLURAL = {v: k for k, v in _IRREGULAR.items() if k != v}


def is_snake(name: str) -> bool:
    return bool(SNAKE.match(name)) and len(name) <= 63


def words(name: str) -> list[str]:
    """`order_items`, `orderItems`, `OrderItems`, `order-items` -> ["order", "items"]."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w.lower() for w in re.split(r"[_\-\s/]+", name) if w]


def snake(name: str) -> str:
    return "_".join(words(name))


def camel(name: str) -> str:
    ws = words(name)
    return ws[0] + "".join(w.capitalize() for w in ws[1:]) if ws else ""


def pascal(name: str) -> str:
    return "".join(w.capitalize() for w in words(name))


def kebab(name: str) -> str:
    return "-".join(words(name))


def singular_word(w: str) -> str:
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("sses", "xes", "zes", "ches", "shes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def plural_word(w: str) -> str:
    if w in _IRREGULAR_PLURAL:
        return _IRREGULAR_PLURAL[w]
    if w.endswith("y") and len(w) > 1 and w[-2] not in "aeiou":
        return w[:-1] + "ies"
    if w.endswith(("s", "x", "z", "ch", "sh")):
        return w + "es"
    return w + "s"


def singular(name: str) -> str:
    """Singular of a snake_case table name: `order_items` -> `order_item`."""
    ws = words(name)
    if not ws:
        return name
    ws[-1] = singular_word(ws[-1])
    return "_".join(ws)


def plural(name: str) -> str:
    ws = words(name)
    if not ws:
        return name
    ws[-1] = plural_word(ws[-1])
    return "_".join(ws)


def human(name: str) -> str:
    """`order_items` -> `order items`."""
    return " ".join(words(name))
