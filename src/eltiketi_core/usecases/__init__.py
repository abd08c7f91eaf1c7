"""Use cases: one class per area of the journey, each taking its ports in ``__init__``
(the three nearly all of them need as one :class:`CorePorts`).

:class:`Ticketing` wires them all from one set of ports — the shortest way to
embed the core (and what the testing kit and the app build on).
"""

from eltiketi_core.usecases.booking import Allowance, HoldProgress, Reservation
from eltiketi_core.usecases.catalog import EventView, NewEvent, NewTicketType, TicketTypeView
from eltiketi_core.usecases.core_ports import CorePorts
from eltiketi_core.usecases.facade import Ticketing
from eltiketi_core.usecases.orders import CancellationTerms, OrderView
from eltiketi_core.usecases.policy import Policy
from eltiketi_core.usecases.reservation import ItemRequest, ReserveRequest
from eltiketi_core.usecases.settlement import Confirmation

__all__ = [
    "Allowance",
    "CancellationTerms",
    "Confirmation",
    "CorePorts",
    "EventView",
    "HoldProgress",
    "ItemRequest",
    "NewEvent",
    "NewTicketType",
    "OrderView",
    "Policy",
    "Reservation",
    "ReserveRequest",
    "TicketTypeView",
    "Ticketing",
]
