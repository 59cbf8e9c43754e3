"""What the device list and the audit log show, read from the query string.

A parameter that does not validate is ignored (with a message from
`problems()`), never an error page: a stale bookmark still opens.
"""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django import forms
from django.conf import settings
from django.db.models import Expression, F, OrderBy, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Lower, NullIf
from django.utils import timezone

from devices.models import AuditEntry, Device, ExemptMode, MacAddress, RemediationState, Standing

DEFAULT_PER_PAGE = 50
DEFAULT_SORT = "name"
# `exempt=unknown`: the cloud never confirmed a mode (the column is NULL).
UNCONFIRMED = "unknown"
# A hundred years: any larger N is a typo, and timedelta overflows far above it.
MAX_UNSEEN_DAYS = 36_500


class ForgivingFilterSet(django_filters.FilterSet):
    """A FilterSet that applies its valid parameters and reports the others."""

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        # Every filter runs, with None for a missing or invalid value, so a
        # filter can apply its default (the sort does).
        cleaned = self.form.cleaned_data
        for name, filter_ in self.filters.items():
            queryset = filter_.filter(queryset, cleaned.get(name))
        return queryset

    def problems(self) -> list[str]:
        """Readable messages for the parameters that were ignored."""
        return [
            f"Ignored {name}={str(self.data.get(name, ''))[:40]!r}: {' '.join(errors)}"
            for name, errors in self.errors.items()
        ]

    def value(self, name: str, default=""):
        """The valid value of parameter `name` (a sort as its query-string text), else `default`."""
        self.form.is_valid()
        value = getattr(self.form, "cleaned_data", {}).get(name)
        if isinstance(value, list):
            value = ",".join(value)
        return value or default

    def query_pairs(self, names) -> dict[str, str]:
        """The valid, non-empty values of `names`, as the query string carries them."""
        return {name: str(self.value(name)) for name in names if self.value(name)}


class SortFilter(django_filters.OrderingFilter):
    """Sorts by the chosen keys, `default` when none is given, with the id as tie-breaker.

    The fields named in `case_insensitive` sort by their lower-case form, the
    same on SQLite (binary collation) as on PostgreSQL: `lab-spare-01` comes
    before `SALES-WS-027`. An index on (lower(name), id) keeps page 1 a
    short index walk (migration 0012).
    """

    def __init__(self, *args, default: str, case_insensitive: tuple[str, ...] = (),
                 blanks_last: dict[str, Expression] | None = None, **kwargs):
        self.default = default
        self.case_insensitive = case_insensitive
        # Keys sorted by an expression that is NULL for "none": those rows come last in either direction.
        self.blanks_last = blanks_last or {}
        super().__init__(*args, **kwargs)

    def order_term(self, param: str) -> OrderBy:
        field = self.get_ordering_value(param)
        descending = field.startswith("-")
        field = field.lstrip("-")
        if field in self.blanks_last:
            expression = self.blanks_last[field]
            return expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
        expression = Lower(field) if field in self.case_insensitive else F(field)
        return expression.desc() if descending else expression.asc()

    def filter(self, qs: QuerySet, value) -> QuerySet:
        ordering = [self.order_term(param) for param in (value or [self.default]) if param]
        # A stable order: pages do not share or skip rows between equal names.
        tie_breaker = F("id")
        return qs.order_by(*ordering, tie_breaker.desc() if ordering[-1].descending else tie_breaker.asc())


# The owner as the list's column shows it (the name, else the email), NULL for a device without one:
# the owner sort puts those last both ways. PostgreSQL indexes it, for each direction (migration 0020).
OWNER_SHOWN = Coalesce(NullIf(F("owner_name"), Value("")), NullIf(F("owner_email"), Value("")))


class InUseChoiceField(forms.TypedChoiceField):
    """A choice whose control shows the value in use: an ignored value shows the default.

    `?per_page=7` is ignored with a message; the dropdown then says 50, the
    size of the page shown, not its first option.
    """

    def bound_data(self, data, initial):
        return data if data not in self.empty_values and self.valid_value(data) else str(self.empty_value)


class WholeNumberFilter(django_filters.Filter):
    """A whole number: "1.5" is refused with a message, where NumberFilter would take it as a decimal."""

    field_class = forms.IntegerField


class DeviceListOptions(forms.Form):
    """The list's page size: a view option, not a filter."""

    per_page = InUseChoiceField(
        label="Per page",
        choices=[(n, n) for n in settings.DEVICE_LIST_PAGE_SIZES],
        coerce=int,
        required=False,
        empty_value=DEFAULT_PER_PAGE,
    )


class DeviceFilterSet(ForgivingFilterSet):
    """The device list's search, filters, sort and page size."""

    # The parameters that select devices: what a bulk "all matching" and the exports repeat.
    SELECTING = ("q", "identifier", "owner", "remediation", "compliance", "exempt", "cloud", "seen", "unseen_days",
                 "sort")

    q = django_filters.CharFilter(label="Search", method="search", max_length=200)
    identifier = django_filters.ChoiceFilter(
        label="Identifier",
        method="filter_identifier",
        empty_label="Any identifier",
        choices=[("hwid", "Has a HWID"), ("mac_only", "MAC only, no HWID"), ("multi_mac", "Several MACs")],
    )
    owner = django_filters.ChoiceFilter(
        label="Owner",
        method="filter_owner",
        empty_label="Any owner",
        choices=[("assigned", "Owner set"), ("unassigned", "No owner")],
    )
    remediation = django_filters.ChoiceFilter(
        label="Remediation",
        field_name="remediation_state",
        empty_label="Any remediation state",
        choices=RemediationState.choices,
    )
    # The cloud's view (what the cloud sync stored); the overview page links to these parameter names.
    # Compliance as the list shows it (Device.standing), so that
    # `compliance=compliant` lists no exempt device the cloud calls compliant.
    compliance = django_filters.ChoiceFilter(
        label="Compliance", method="filter_compliance", empty_label="Any compliance", choices=Standing.choices
    )
    exempt = django_filters.ChoiceFilter(
        label="Exemption",
        method="filter_exempt",
        empty_label="Any exemption",
        choices=[*ExemptMode.choices, (UNCONFIRMED, "Not confirmed yet")],
    )
    cloud = django_filters.ChoiceFilter(
        label="In the cloud",
        method="filter_cloud",
        empty_label="In the cloud or not",
        choices=[("present", "In the cloud"), ("missing", "Not in the cloud")],
    )
    # A device the cloud never reported (one imported minutes ago) is not one gone quiet: it is a choice of
    # its own, and `unseen_days` counts only devices the cloud did hear from.
    seen = django_filters.ChoiceFilter(
        label="Last seen",
        method="filter_seen",
        empty_label="Seen or not",
        choices=[("seen", "Seen by the cloud"), ("never", "Never seen")],
    )
    unseen_days = WholeNumberFilter(
        label="Not seen for (days)",
        method="filter_unseen",
        min_value=1,
        max_value=MAX_UNSEEN_DAYS,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_UNSEEN_DAYS, "placeholder": "days"}),
    )
    sort = SortFilter(
        label="Sort",
        default=DEFAULT_SORT,
        case_insensitive=("name",),
        blanks_last={"owner_name": OWNER_SHOWN},
        fields=(("name", "name"), ("hwid", "hwid"), ("owner_name", "owner"), ("updated_at", "updated")),
    )

    class Meta:
        model = Device
        fields: list[str] = []
        form = DeviceListOptions

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset=Device.objects.all() if queryset is None else queryset, **kwargs)

    def search(self, queryset: QuerySet[Device], name: str, text: str) -> QuerySet[Device]:
        return queryset.search(text)

    def filter_identifier(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        if value == "hwid":
            return queryset.filter(hwid__isnull=False)
        if value == "mac_only":
            return queryset.filter(hwid__isnull=True)
        # Several MACs means one that is not the primary: an indexed lookup,
        # where counting MACs per device would group every row.
        return queryset.filter(pk__in=MacAddress.objects.filter(is_primary=False).values("device_id"))

    def filter_owner(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        if value == "assigned":
            return queryset.exclude(owner_name="", owner_email="")
        return queryset.filter(owner_name="", owner_email="")

    def filter_compliance(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        return queryset.filter(Device.standing_q(value))

    def filter_exempt(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        if value == UNCONFIRMED:
            return queryset.filter(exempt_mode__isnull=True)
        return queryset.filter(exempt_mode=value)

    def filter_cloud(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        """Missing: a complete sync did not list it; present: the last sync did (never synced is neither)."""
        if value == "missing":
            return queryset.filter(cloud_missing_since__isnull=False)
        return queryset.filter(cloud_synced_at__isnull=False, cloud_missing_since__isnull=True)

    def filter_seen(self, queryset: QuerySet[Device], name: str, value: str) -> QuerySet[Device]:
        return queryset.filter(last_seen_at__isnull=value == "never")

    def filter_unseen(self, queryset: QuerySet[Device], name: str, days: int) -> QuerySet[Device]:
        """Gone quiet for `days` days: last seen before then (a device never seen is `seen=never`)."""
        return queryset.filter(last_seen_at__lt=timezone.now() - timedelta(days=days))

    @property
    def sort_key(self) -> str:
        return self.value("sort", DEFAULT_SORT)

    @property
    def page_size(self) -> int:
        return self.value("per_page", DEFAULT_PER_PAGE)

    def selecting_pairs(self) -> dict[str, str]:
        """The valid, non-default parameters that select the devices shown."""
        return self.query_pairs(self.SELECTING)

    def describe(self) -> str:
        """The selection in words, for people: 'the search is “a”, identifier is “Several MACs”'.

        Empty without a filter. The sort selects nothing, so it is left out.
        """
        phrases = [f"the search is “{self.value('q')}”"] if self.value("q") else []
        for name in ("identifier", "owner", "remediation", "compliance", "exempt", "cloud", "seen"):
            value = self.value(name)
            if value:
                label = dict(self.filters[name].extra["choices"]).get(value, value)
                phrases.append(f"{self.filters[name].label.lower()} is “{label}”")
        if self.value("unseen_days"):
            phrases.append(f"not seen for {self.value('unseen_days')} days")
        return ", ".join(phrases)


class AuditOptions(forms.Form):
    """The audit log's form: a Since after the Until is no range, so neither day filters."""

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            # Both are dropped: filtering by one of them alone would show entries nobody asked for.
            self.add_error("since", f"it is after Until ({until.isoformat()}), so neither day was used; "
                                    "give the earlier day as Since.")
            self.add_error("until", f"it is before Since ({since.isoformat()}).")
        return cleaned


class AuditFilterSet(ForgivingFilterSet):
    """The audit log's filters: who, what, which device, between which days."""

    user = django_filters.CharFilter(label="User", field_name="username", lookup_expr="icontains", max_length=150)
    verb = django_filters.ChoiceFilter(label="Verb", choices=AuditEntry.Verb.choices, empty_label="Any")
    since = django_filters.DateFilter(
        label="Since", field_name="at", lookup_expr="date__gte", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = django_filters.DateFilter(
        label="Until", field_name="at", lookup_expr="date__lte", widget=forms.DateInput(attrs={"type": "date"})
    )
    device = django_filters.CharFilter(
        label="Device", method="filter_device", max_length=253,
        widget=forms.TextInput(attrs={"placeholder": "Name, HWID, MAC or owner"}),
    )

    class Meta:
        model = AuditEntry
        fields: list[str] = []
        form = AuditOptions

    def __init__(self, data=None, queryset=None, **kwargs):
        super().__init__(data, queryset=AuditEntry.objects.all() if queryset is None else queryset, **kwargs)

    def filter_device(self, queryset: QuerySet[AuditEntry], name: str, text: str) -> QuerySet[AuditEntry]:
        """Entries whose device is found by the device list's search, or whose recorded name matches.

        The recorded name still finds the entries of a deleted device.
        """
        text = text.strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(device_name__icontains=text) | Q(device__in=Device.objects.search(text).values("pk"))
        )
