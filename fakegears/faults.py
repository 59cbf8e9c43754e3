"""The injectable faults, each declared once.

`FaultFields` is the single declaration: one line per fault with its default,
its kind (which values it accepts, see `fakegears.kinds`) and its help text.
Everything else is derived from it:

- `SimulatorConfig` inherits the fields (the values a simulator starts with);
- `FaultSettings` inherits them too (the values in force, changed at run time
  by `POST /_sim/faults`, which validates through `FaultSettings.updated`);
- the command line adds one `--<name-with-dashes>` flag per field
  (`fakegears.__main__`).

Adding a fault is one line here plus its effect where requests are served.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from fakegears.kinds import Kind, Number, Switch, Text
from fakegears.listing import ListingFields

SHARE = Number(low=0, high=1)  # a probability
COUNT = Number(integer=True, low=0)  # exactly the next K requests
SECONDS = Number(low=0)


@dataclass(frozen=True)
class FaultSpec:
    """One declared fault: what the CLI, the config and the control API know of it."""

    name: str
    default: Any
    kind: Kind
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _fault(default: Any, kind: Kind, help: str) -> Any:  # noqa: A002 - argparse's word
    return field(default=default, metadata={"kind": kind, "help": help})


@dataclass(kw_only=True)
class FaultFields(ListingFields):
    """Injected faults; all off by default. Applied to /o/api/ requests that passed auth and the limit.

    The Get Devices page shapes (`fakegears.listing.ListingFields`) are inherited: set the same ways.
    """

    error_rate: float = _fault(0.0, SHARE, "probability an accepted API request answers 500")
    fail_next: int = _fault(0, COUNT, "the next K accepted API requests answer 500")
    latency: float = _fault(0.0, SECONDS, "seconds added to each accepted API request")
    hang_rate: float = _fault(0.0, SHARE, "probability an accepted API request hangs")
    hang_next: int = _fault(0, COUNT, "the next K accepted API requests hang")
    hang_seconds: float = _fault(30.0, SECONDS, "how long a hung request sleeps before a 504")
    # An HTML 200, as a misbehaving proxy or gateway might send: clients must not trust a 200 blindly.
    malformed_next: int = _fault(
        0, COUNT, "the next K accepted API requests answer 200 with an HTML body, not JSON"
    )
    down: bool = _fault(False, Switch(), "API, OAuth and remediation pages answer 503")
    # How the account's budget is metered and reported: readings the vendor leaves open
    # (docs/upstream/api-notes.md §4, §6.1, §6.6); the defaults are the strict contract of §7.4.
    bulk_per_item: bool = _fault(
        False, Switch(), "a bulk request costs one unit of the limit per device it carries, not one"
    )
    other_client: int = _fault(
        0, COUNT, "another client of the account spends K requests at the start of every window"
    )
    reset_epoch: bool = _fault(
        False, Switch(), "X-RateLimit-Reset-Time is a Unix time, not seconds from now"
    )
    limit_header: int = _fault(0, COUNT, "X-RateLimit-Limit says K whatever the limit enforced (0: the limit)")
    remediation_link_override: str | None = _fault(
        None, Text(optional=True), "force the remediation_link value returned (for testing hostile links)"
    )
    # The vendor says an exempt device answers the v2 APIs as if compliant, not whether its remediation
    # link goes too (docs/upstream/api-notes.md §8): off, the link stays; on, it answers "no issues".
    exempt_hides_issues: bool = _fault(
        False, Switch(), "an exempt device answers remediation and Get Devices as if it had no issues (no link)"
    )

    def fault_values(self) -> dict[str, Any]:
        return {spec.name: getattr(self, spec.name) for spec in FAULT_SPECS}

    def validate_faults(self) -> None:
        """Raise ValueError naming the first fault whose value its kind refuses."""
        for spec in FAULT_SPECS:
            accept(spec, getattr(self, spec.name))


FAULT_SPECS: tuple[FaultSpec, ...] = tuple(
    FaultSpec(item.name, item.default, item.metadata["kind"], item.metadata["help"])
    for item in fields(FaultFields)
)
FAULTS_BY_NAME = {spec.name: spec for spec in FAULT_SPECS}


def accept(spec: FaultSpec, value: Any) -> Any:
    """`value` normalised by the fault's kind; ValueError "<name> must be ..." if refused."""
    try:
        return spec.kind.accept(value)
    except ValueError as problem:
        raise ValueError(f"{spec.name} {problem}") from None


@dataclass(kw_only=True)
class FaultSettings(FaultFields):
    """The faults in force in a running simulator (changed by POST /_sim/faults)."""

    def validate(self) -> None:
        self.validate_faults()

    def to_dict(self) -> dict[str, Any]:
        return self.fault_values()

    def updated(self, changes: dict[str, Any]) -> FaultSettings:
        """A validated copy with `changes` applied (partial update from JSON).

        Raises ValueError naming the offending key for unknown keys or values
        of the wrong type or range; nothing changes then.
        """
        values = self.fault_values()
        for key, value in changes.items():
            spec = FAULTS_BY_NAME.get(key)
            if spec is None:
                raise ValueError(f"unknown setting {key!r}; known: {', '.join(sorted(FAULTS_BY_NAME))}")
            values[key] = accept(spec, value)
        return FaultSettings(**values)
