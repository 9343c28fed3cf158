"""The declared state machine: moves listed once, every write of the status checked."""

import enum

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.errors import InvalidTransition
from app.extensions import Base
from app.statemachine import StateMachine


class Light(enum.StrEnum):
    RED = "red"
    GREEN = "green"
    AMBER = "amber"
    BROKEN = "broken"


MACHINE = StateMachine(
    "light",
    Light,
    {
        (Light.RED, Light.GREEN): "go",
        (Light.GREEN, Light.AMBER): "slow",
        (Light.AMBER, Light.RED): "stop",
    },
    initial=(Light.RED,),
)


class Lamp(Base):
    __tablename__ = "test_statemachine_lamps"
    __table_args__ = (MACHINE.check_constraint(),)
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(8))


MACHINE.watch(Lamp.status)
LAMPS = Lamp.__table__
Base.metadata.remove(LAMPS)  # not part of the application's schema


def test_reading_the_declared_moves():
    assert MACHINE.targets("red") == ["green"]
    assert MACHINE.targets("broken") == []
    assert MACHINE.sources("red") == ["amber"]
    assert MACHINE.allows("green", "amber") and not MACHINE.allows("green", "red")
    assert MACHINE.data("amber", "red") == "stop"
    assert MACHINE.reachable() == ["red", "green", "amber"]


def test_a_machine_cannot_name_unknown_states():
    with pytest.raises(ValueError, match="unknown states"):
        StateMachine("light", Light, {("red", "blue"): None})


def test_a_refused_move_says_what_is_allowed():
    with pytest.raises(InvalidTransition) as refused:
        MACHINE.check("red", "amber")
    assert refused.value.message == "A red light cannot become amber. Allowed next: green."
    with pytest.raises(InvalidTransition, match="“blue” is not a status of a light"):
        MACHINE.check("red", "blue")


@pytest.fixture
def session():
    engine = sa.create_engine("sqlite://")
    LAMPS.create(engine)
    with Session(engine) as session:
        yield session


def test_direct_writes_are_checked_like_moves(session):
    lamp = Lamp(status="red")
    session.add(lamp)
    session.commit()
    lamp.status = "green"  # a declared move
    session.commit()
    with pytest.raises(InvalidTransition, match="A green light cannot become red"):
        lamp.status = "red"
    assert MACHINE.move(lamp, "amber") == "green"
    assert lamp.status == "amber"


def test_a_new_row_starts_in_an_initial_state(session):
    with pytest.raises(InvalidTransition):
        Lamp(status="green")


def test_the_check_is_made_on_a_row_read_back_from_the_database(session):
    session.add(Lamp(id=1, status="red"))
    session.commit()
    session.expunge_all()
    lamp = session.get(Lamp, 1)
    with pytest.raises(InvalidTransition):
        lamp.status = "amber"


def test_guarded_update_moves_only_rows_that_may_move(session):
    session.add_all([Lamp(id=1, status="red"), Lamp(id=2, status="red")])
    session.commit()
    session.execute(sa.update(Lamp).where(Lamp.id == 2).values(status="green"))
    moved = session.execute(MACHINE.guarded_update(Lamp, "green"))
    assert moved.rowcount == 1
    assert session.scalars(sa.select(Lamp.status).order_by(Lamp.id)).all() == ["green", "green"]


def test_the_database_refuses_a_status_outside_the_machine(session):
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(
            sa.text("INSERT INTO test_statemachine_lamps (id, status) VALUES (9, 'blue')")
        )
