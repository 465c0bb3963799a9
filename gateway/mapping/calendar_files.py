"""Working-day calendar files: one per year under mappings/calendars/, entered from the
State Council's yearly notice (国务院办公厅关于某年部分节假日安排的通知).

Each file lists the year's breaks (every day from `first` to `last` is off) and their
make-up working days (调休). A year not yet announced can ship as `provisional = true`,
derived from the statutory rules, until the notice is entered. Everything is checked at
start-up; a problem is a MappingError naming the file, the entry and what is wrong.
"""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from gateway.domain.errors import MappingError
from gateway.mapping.profiles import Model


class Break(Model):
    """One holiday break: days off from `first` to `last`, and its make-up working days."""

    name: str = Field(min_length=1)
    first: date
    last: date
    workdays: tuple[date, ...] = Field(default=(), description="调休: weekend days worked")

    @model_validator(mode="after")
    def _ordered(self) -> Break:
        if self.last < self.first:
            raise ValueError(f"'{self.name}': last ({self.last}) is before first ({self.first})")
        for day in self.workdays:
            if day.weekday() < 5:
                raise ValueError(f"'{self.name}': make-up working day {day} is not a weekend day")
        return self

    def days_off(self) -> list[date]:
        """Every day of the break."""
        count = (self.last - self.first).days + 1
        return [self.first + timedelta(days=n) for n in range(count)]


class YearCalendar(Model):
    """One year's holidays and make-up working days."""

    year: int = Field(ge=2000, le=2100)
    provisional: bool = Field(
        strict=True, description="derived from the rules, not yet from the notice"
    )
    source: str = Field(min_length=1, description="the notice, or how the dates were derived")
    holidays: tuple[Break, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> YearCalendar:
        off: dict[date, str] = {}
        for entry in self.holidays:
            for day in [*entry.days_off(), *entry.workdays]:
                if day.year != self.year:
                    raise ValueError(f"'{entry.name}': {day} is not in {self.year}")
            for day in entry.days_off():
                if day in off:
                    raise ValueError(f"{day} is in both '{off[day]}' and '{entry.name}'")
                off[day] = entry.name
        for entry in self.holidays:
            clash = [day for day in entry.workdays if day in off]
            if clash:
                raise ValueError(f"'{entry.name}': make-up day {clash[0]} is also a day off")
        return self

    def days_off(self) -> frozenset[date]:
        """Every holiday of the year, weekends inside a break included."""
        return frozenset(day for entry in self.holidays for day in entry.days_off())

    def make_up_days(self) -> frozenset[date]:
        """Every weekend day worked (调休)."""
        return frozenset(day for entry in self.holidays for day in entry.workdays)


def load_calendars(root: Path) -> dict[int, YearCalendar]:
    """Every calendars/<year>.toml under `root`, by year; MappingError on the first problem."""
    years: dict[int, YearCalendar] = {}
    for path in sorted((root / "calendars").glob("*.toml")):
        calendar = _parse(path)
        years[calendar.year] = calendar
    return years


def _parse(path: Path) -> YearCalendar:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MappingError(f"{path}: not valid TOML: {exc}") from exc
    year = data.get("year")
    if str(year) != path.stem:
        raise MappingError(f"{path}: year: the file for {year} must be named {year}.toml")
    try:
        return YearCalendar.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(file)"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise MappingError(f"{path}: {where}: {message}") from exc
