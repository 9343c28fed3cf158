"""One declared state machine per aggregate.

A machine lists its states and its allowed moves once. Every write of the status attribute is
checked against it by an attribute listener (so a direct `row.status = ...` anywhere is refused
just like a call to `move`), bulk UPDATEs go through `guarded_update`, and `check_constraint`
gives the CHECK that makes the database refuse any other value.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import attributes

from .errors import InvalidTransition
from .i18n import gettext

_UNSET = (attributes.NO_VALUE, attributes.NEVER_SET, None)


class StateMachine:
    def __init__(
        self,
        name: str,
        states: type[enum.Enum] | Iterable[str],
        moves: Mapping[tuple[str, str], Any],
        *,
        initial: Iterable[str] | None = None,
    ):
        """`moves` maps (from, to) to what the domain attaches to the move (guards, who may
        make it); `initial` are the states a new row may start in (default: any)."""
        self.name = name
        self.states: tuple[str, ...] = tuple(_value(state) for state in states)
        self.moves: dict[tuple[str, str], Any] = {
            (_value(source), _value(target)): data for (source, target), data in moves.items()
        }
        unknown = {state for move in self.moves for state in move} - set(self.states)
        if unknown:
            raise ValueError(f"{name}: moves name unknown states {sorted(unknown)}")
        self.initial = frozenset(_value(s) for s in initial) if initial else frozenset(self.states)

    # --- reading -----------------------------------------------------------------------------

    def allows(self, source: str | None, target: str) -> bool:
        return (_value(source), _value(target)) in self.moves

    def targets(self, source: str | None) -> list[str]:
        """The states `source` may move to, in the order the moves were declared."""
        return [to for (frm, to) in self.moves if frm == _value(source)]

    def sources(self, target: str) -> list[str]:
        return [frm for (frm, to) in self.moves if to == _value(target)]

    def data(self, source: str, target: str) -> Any:
        return self.moves[(_value(source), _value(target))]

    def reachable(self) -> list[str]:
        """Every state some move leads to, in the order of `states`."""
        targets = {to for _, to in self.moves}
        return [state for state in self.states if state in targets]

    # --- writing -----------------------------------------------------------------------------

    def refusal(
        self, source: str | None, target: str, allowed: Iterable[str] | None = None
    ) -> InvalidTransition:
        """Why `source` may not become `target`; `allowed` narrows the moves it names to those
        the caller may make (default: every declared move from `source`)."""
        allowed = ", ".join(self.targets(source) if allowed is None else allowed) or "none"
        if _value(target) not in self.states:
            message = f"“{target}” is not a status of a {self.name}."
        else:
            message = f"A {source} {self.name} cannot become {target}. Allowed next: {allowed}."
        return InvalidTransition(
            message, fields={"to": [gettext("Allowed next: %(allowed)s.", allowed=allowed)]}
        )

    def check(self, source: str | None, target: str) -> None:
        if not self.allows(source, target):
            raise self.refusal(source, target)

    def move(self, row: Any, target: str, attribute: str = "status") -> str:
        """Move `row` to `target` (checked by the listener); returns the state it left."""
        before = getattr(row, attribute)
        self.check(before, target)
        setattr(row, attribute, _value(target))
        return before

    def guarded_update(self, model: Any, target: str, *criteria, attribute: str = "status"):
        """An UPDATE that moves only rows whose current state may move to `target`."""
        column = getattr(model, attribute)
        return (
            sa.update(model)
            .where(column.in_(self.sources(target)), *criteria)
            .values({attribute: _value(target)})
            .execution_options(synchronize_session=False)
        )

    def check_constraint(self, attribute: str = "status") -> sa.CheckConstraint:
        """The CHECK for a model's __table_args__: the column holds one of the states."""
        values = ", ".join(f"'{state}'" for state in self.states)
        return sa.CheckConstraint(f"{attribute} IN ({values})", name=attribute)

    def watch(self, attribute: Any) -> None:
        """Refuse every write of `attribute` (Model.status) that is not a declared move."""

        def on_set(row, value, oldvalue, initiator):
            state = sa.inspect(row)
            if state.persistent or state.detached:
                if _value(value) != _value(oldvalue) and not (
                    oldvalue in _UNSET and _value(value) in self.initial
                ):
                    self.check(oldvalue, value)
            elif _value(value) not in self.initial:
                raise self.refusal(None, value)
            return value

        sa.event.listen(attribute, "set", on_set, retval=True, active_history=True)


def _value(state: Any) -> Any:
    return state.value if isinstance(state, enum.Enum) else state
