"""Each use case on its own, so a route's signature says what it uses.

``FromDishka[Bookings]`` in a handler rather than the whole ``Ticketing``: the
facade stays the embedders' convenience (one object, one set of ports), and the
container hands out its parts. They are the facade's own instances (APP scope):
a use case keeps process-wide state where it needs it (the Idempotency-Keys in
flight of :class:`Bookings`), never request state.
"""

from __future__ import annotations

from dishka import Provider, Scope, provide

from eltiketi_core.usecases.attendees import Attendees
from eltiketi_core.usecases.booking import Bookings
from eltiketi_core.usecases.cancellation import EventCancellation
from eltiketi_core.usecases.catalog import Catalog
from eltiketi_core.usecases.checkin import CheckIns
from eltiketi_core.usecases.dashboard import Dashboards
from eltiketi_core.usecases.event_admin import EventAdmin
from eltiketi_core.usecases.facade import Ticketing
from eltiketi_core.usecases.jobs import Jobs
from eltiketi_core.usecases.notifications import Notifications
from eltiketi_core.usecases.orders import Orders
from eltiketi_core.usecases.organizations import Organizations
from eltiketi_core.usecases.organizer_orders import OrganizerOrders
from eltiketi_core.usecases.payment import Payments
from eltiketi_core.usecases.settlement import Settlement


class UseCaseProvider(Provider):
    scope = Scope.APP

    @provide
    def catalog(self, core: Ticketing) -> Catalog:
        return core.catalog

    @provide
    def bookings(self, core: Ticketing) -> Bookings:
        return core.bookings

    @provide
    def payments(self, core: Ticketing) -> Payments:
        return core.payments

    @provide
    def settlement(self, core: Ticketing) -> Settlement:
        return core.settlement

    @provide
    def orders(self, core: Ticketing) -> Orders:
        return core.orders

    @provide
    def cancellation(self, core: Ticketing) -> EventCancellation:
        return core.cancellation

    @provide
    def jobs(self, core: Ticketing) -> Jobs:
        return core.jobs

    @provide
    def checkins(self, core: Ticketing) -> CheckIns:
        return core.checkins

    @provide
    def notifications(self, core: Ticketing) -> Notifications:
        return core.notifications

    @provide
    def event_admin(self, core: Ticketing) -> EventAdmin:
        return core.event_admin

    @provide
    def dashboards(self, core: Ticketing) -> Dashboards:
        return core.dashboards

    @provide
    def organizer_orders(self, core: Ticketing) -> OrganizerOrders:
        return core.organizer_orders

    @provide
    def attendees(self, core: Ticketing) -> Attendees:
        return core.attendees

    @provide
    def organizations(self, core: Ticketing) -> Organizations:
        return core.organizations
