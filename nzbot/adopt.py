"""Rows that belong to no configured member institution.

A single-institution database keeps its link jobs, cases, link tokens and audit under the
implicit institution (code ""). Moved to consortium mode (NZBOT_CONFIG), those rows would
belong to no member: their open cases, tokens and unfinished jobs would silently stop
moving. So start-up stops and names `nzbot adopt CODE`, which gives them to the member
whose IZ they came from. The same command moves a member's rows when its
code is corrected in NZBOT_CONFIG (`--from OLD`); rows of a code no longer configured
(a member that left) only get a warning: they are history, and nothing can act on them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from alma.errors import BadInput
from nzbot.institutions import IMPLICIT
from nzbot.store import MemberRows, Store


def owner_name(code: str) -> str:
    """Whose rows these are, in words."""
    return "the single-institution set-up" if code == IMPLICIT else f"institution {code}"


@dataclass(frozen=True)
class Unowned:
    """Rows of one institution code that no configured member has."""

    code: str
    rows: MemberRows

    @property
    def command(self) -> str:
        """The command that gives these rows to a member."""
        return "nzbot adopt CODE" if self.code == IMPLICIT else f"nzbot adopt --from {self.code} CODE"

    @property
    def blocks_start(self) -> bool:
        """Work of the single-institution set-up, under consortium mode: the bot must not
        start and leave it unmoved. (Rows of a code no longer configured are history.)"""
        return self.code == IMPLICIT and bool(self.rows.work)


def unowned_rows(store: Store, codes: tuple[str, ...]) -> list[Unowned]:
    """The institutions the database holds rows of that are not among `codes`."""
    return [Unowned(code, rows) for code, rows in store.rows_by_institution().items()
            if code not in codes and rows]


def start_up_problem(unowned: list[Unowned], codes: tuple[str, ...], db_path: str) -> str | None:
    """Why the bot must not start: link jobs, cases or tokens of the single-institution
    set-up under consortium mode (one line, naming the command that fixes it)."""
    before = next((u for u in unowned if u.blocks_start), None)
    if before is None:
        return None
    return (f"NZBOT_DB {db_path} holds {before.rows.described()} from before consortium mode, of no "
            f"member yet: give them to the member whose IZ they came from with `nzbot adopt "
            f"CODE` ({', '.join(codes)}), then start nzbot again.")


def kept_unowned(unowned: list[Unowned], db_path: str) -> list[str]:
    """A line for each institution's rows kept, though no member has them."""
    return [f"NZBOT_DB {db_path} holds {u.rows.described()} of {owner_name(u.code)}, which is not a "
            f"member here: they are kept, but nothing acts on them (`{u.command}` gives them to a "
            "member of NZBOT_CONFIG)." for u in unowned if not u.blocks_start]


def adopt(store: Store, to_code: str, codes: tuple[str, ...], from_code: str = IMPLICIT) -> MemberRows:
    """Gives every row of `from_code` (by default the single-institution set-up's) to
    member `to_code`, in one transaction, with how far its watch for Alma UI runs got."""
    if not codes:
        raise BadInput("nzbot adopt gives rows to a member institution of NZBOT_CONFIG: set NZBOT_CONFIG "
                       "first (consortium mode).")
    if to_code not in codes:
        raise BadInput(f"{to_code!r} is not a member in NZBOT_CONFIG: give one of {', '.join(codes) or 'none'}.")
    if from_code == to_code:
        raise BadInput(f"The rows of {to_code} are already its own.")
    try:
        with store.writing():
            moved = store.move_rows(from_code, to_code)
            watched = store.watched_since(from_code)
            if watched is not None and store.watched_since(to_code) is None:
                store.watch_moved(to_code, watched)
            store.watch_moved(from_code, None)
            if moved:
                store.for_institution(to_code).audit(
                    "nzbot", "rows_adopted", f"institution {to_code}", "moved",
                    f"{moved.described()} of {owner_name(from_code)}")
    except sqlite3.IntegrityError:
        raise BadInput(f"{to_code} already has a link job run that the rows being moved also have: "
                       "nothing was moved (the same run cannot belong to it twice).") from None
    return moved
