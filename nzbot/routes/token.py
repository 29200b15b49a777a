"""The token route (needs ALMA_NZ_API_KEY): no 035 singles the chosen NZ record out, so
nzbot makes one. A throwaway `035 $a <prefix><token>` (prefix NZBOT_LINK_TOKEN_PREFIX,
token unique per attempt) goes on the chosen NZ record (the NZ's key), then on the IZ
record; the link job runs with the other-system-number profile and that prefix; and the
token is taken off again, checked gone, whatever the outcome.

Each step is a state of the token's own row (TokenState: placing -> on_nz -> on_iz ->
removing -> removed), recorded before the next begins, so a restart finishes the work and
no token stays behind. A token Alma will not take off is marked stuck (its row says why)
and the Program Manager, who works in the NZ, is told where it stays.
"""

from __future__ import annotations

import logging

from alma.errors import (AlmaBlocked, AlmaError, AlmaPermissionError, AlmaRequestError, RecordChanged,
                         RecordNotFound, RecordUnreadable)
from nzbot.linkroute import give_identifier, new_token, put_token_on_nz, take_token_off_iz, take_token_off_nz
from nzbot.routes.casework import CASES_USER, CaseWork
from nzbot.routes.handoff import HandOff
from nzbot.routes.link_job import LinkJobRoute
from nzbot.states import TOKEN_PENDING, CaseState, Decision, PmNotice, Route, RouteKind, TokenState
from nzbot.store import Case, LinkToken

log = logging.getLogger(__name__)


class TokenRoute(LinkJobRoute):
    kind = RouteKind.TOKEN

    def __init__(self, work: CaseWork, handoff: HandOff) -> None:
        super().__init__(work)
        self.handoff = handoff  # where a pick goes when Alma refuses the token

    def resuming(self, case: Case) -> bool:
        """A decided case whose token steps began before a restart: the route was chosen."""
        return bool(self.work.store.link_tokens(*TOKEN_PENDING, case_id=case.id))

    def prepare(self, case: Case, route: Route) -> None:
        """Puts the case's token on the chosen NZ record, then on the IZ record, then hands
        the case to the link job. Each step is recorded, and each is safe to repeat."""
        store = self.work.store
        pending = store.link_tokens(*TOKEN_PENDING, case_id=case.id)
        token = next((t for t in pending if t.state != TokenState.REMOVING and t.nz_mms_id == case.chosen_nz_mms_id), None)
        if any(t is not token for t in pending):
            return  # an earlier attempt's token is still coming off: the next round goes on
        if token is None:
            token = store.add_link_token(case.id, new_token(self.work.token_prefix, case.id),
                                         case.chosen_nz_mms_id, case.iz_mms_id)
            store.audit(CASES_USER, "token_made", f"case {case.id}", TokenState.PLACING, token.token)
        record = f"NZ record {token.nz_mms_id}"  # the record the step below saves
        try:
            if token.state == TokenState.PLACING:
                if not put_token_on_nz(self.work.alma, token.nz_mms_id, token.token):
                    self.work.fail(case, f"NZ record {token.nz_mms_id} did not keep the temporary 035 "
                                         f"{token.token} nzbot put on it (Alma changed the record as it "
                                         "saved it), so the link job could not be pointed at it.")
                    return
                store.move_link_token(token.id, TokenState.PLACING, TokenState.ON_NZ)
                store.audit(CASES_USER, "token_on_nz", f"NZ record {token.nz_mms_id}", TokenState.ON_NZ, token.token)
                token = store.link_token(token.id)
            if token.state == TokenState.ON_NZ:
                record = f"IZ record {case.iz_mms_id}"
                give_identifier(self.work.alma, case.iz_mms_id, token_route(token))
                store.move_link_token(token.id, TokenState.ON_NZ, TokenState.ON_IZ)
                store.audit(CASES_USER, "token_on_iz", f"IZ record {token.iz_mms_id}", TokenState.ON_IZ, token.token)
        except (RecordNotFound, RecordUnreadable) as exc:
            self.work.fail(case, exc.message)
            return
        except AlmaRequestError as exc:  # the NZ key may read but not write, or Alma refuses this record
            if isinstance(exc, RecordChanged) and self.work.being_edited(f"case {case.id}", exc):
                return
            # Deciding again would meet the same refusal: the cataloger links it in the
            # Metadata Editor instead; the token comes off (tidy), and the PM learns why.
            why = (" ALMA_NZ_API_KEY needs Bibs read/write in the network zone."
                   if isinstance(exc, AlmaPermissionError) and record.startswith("NZ") else "")
            self.handoff.prepare(case, Route(RouteKind.MANUAL),
                                 note=f"Alma refused to put the temporary 035 {token.token} on {record}: {exc}{why}")
            return
        self.work.edits_over(f"case {case.id}")  # a later decision waits afresh
        self.work.start_linking(case, token_route(token))

    def tidy(self) -> None:
        """Takes every token off that no case is using any more (linked, failed, decided
        otherwise), and checks it is gone; also what a killed bot left behind."""
        store = self.work.store
        for token in store.link_tokens(*TOKEN_PENDING):
            case = store.case(token.case_id)
            if token.state != TokenState.REMOVING:
                if self._in_use(case, token):
                    continue
                if not store.move_link_token(token.id, token.state, TokenState.REMOVING):
                    continue
            try:
                gone = take_token_off_nz(self.work.alma, token.nz_mms_id, token.token)
            except RecordNotFound:
                gone = True  # the NZ record is gone (merged away, deleted): so is the token
            except AlmaBlocked:
                raise  # every token alike (the key's permission, the quota): said once
            except AlmaRequestError as exc:  # Alma refuses this record: say where it stays; the others go on
                if not (isinstance(exc, RecordChanged) and self.work.being_edited(f"token {token.id}", exc)):
                    self._stuck(token, exc)
                continue
            if not gone:
                log.warning("case %s: token %s is still on NZ record %s", case.id, token.token, token.nz_mms_id)
                continue
            try:
                take_token_off_iz(self.work.alma, token.iz_mms_id, token.token)
            except RecordNotFound:
                pass
            except RecordChanged as exc:  # the NZ record is clean; the IZ record's turn comes again
                self.work.being_edited(f"token {token.id}", exc)
                continue
            self.work.edits_over(f"token {token.id}")
            if store.move_link_token(token.id, TokenState.REMOVING, TokenState.REMOVED):
                store.audit(CASES_USER, "token_removed", f"NZ record {token.nz_mms_id}", TokenState.REMOVED,
                            f"{token.token}, checked gone")
                self._told(token)

    def _in_use(self, case: Case, token: LinkToken) -> bool:
        if case.state == CaseState.DECIDING:
            return case.decision == Decision.LINK and case.chosen_nz_mms_id == token.nz_mms_id
        if case.state == CaseState.LINKING:
            route = case.route
            return route is not None and route.kind == RouteKind.TOKEN and route.identifier == token.token
        return False

    def _stuck(self, token: LinkToken, exc: AlmaError) -> None:
        """The token's row keeps Alma's refusal (the Home tab lists it), and the case's
        message says, once, which NZ record keeps the token and why: the Program Manager
        works in the NZ and can delete it there. nzbot keeps trying."""
        log.warning("case %s: Alma refused to take token %s off NZ record %s: %s",
                    token.case_id, token.token, token.nz_mms_id, exc)
        if token.stuck is not None:
            return  # said already
        self.work.store.update_link_token(token.id, stuck=str(exc))
        case = self.work.store.case(token.case_id)
        said = (f"{_stuck_words(token)} NZ record {token.nz_mms_id}: Alma refused to take it off ({exc}). "
                "nzbot keeps trying; the Program Manager can also delete that 035 from the NZ record "
                "in the Metadata Editor.")
        moved = self.work.move(case, case.state, case.state, note=f"{case.note} {said}" if case.note else said)
        if moved is not None:
            self.work.tell_pm(moved, PmNotice.TOKEN_STUCK, token)

    def _told(self, token: LinkToken) -> None:
        """The case's message says the token was taken off again (and no longer that it stays)."""
        case = self.work.store.case(token.case_id)
        if case.state not in (CaseState.LINKED, CaseState.FAILED, CaseState.LINKING):  # linking: handed off after a refusal
            return
        said = (f"The temporary 035 {token.token} was put on NZ record {token.nz_mms_id} for the "
                "link job and has been taken off again (checked).")
        earlier = case.note or ""
        if token.stuck is not None:  # the words said when it stuck go: they are no longer true
            earlier = earlier.split(_stuck_words(token))[0]
        earlier = earlier.strip()
        self.work.move(case, case.state, case.state, note=f"{earlier} {said}" if earlier else said)


def token_route(token: LinkToken) -> Route:
    """The link-job route of a token: the other-system profile on the token's own prefix."""
    prefix = token.token[: token.token.index(")") + 1]
    return Route(RouteKind.TOKEN, prefix=prefix, identifier=token.token)


def _stuck_words(token: LinkToken) -> str:
    return f"The temporary 035 {token.token} is still on"
