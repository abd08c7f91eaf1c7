"""Notifiers: e-tickets, refund notices and payment problems by e-mail and SMS; invitations
to an organization's team by e-mail.

Every class here implements :class:`eltiketi_core.ports.notifications.Notifier`:

============================  =======  ===========================================
class                         channel  delivers
============================  =======  ===========================================
:class:`EmlFileNotifier`      email    ``.eml`` files in a folder (embedded mode)
:class:`SmtpNotifier`         email    SMTP via aiosmtplib (``ELTIKETI_SMTP_URL``)
:class:`SmsFileNotifier`      sms      text files in a folder (embedded mode)
:class:`HttpSmsNotifier`      sms      an HTTP SMS API, Twilio's shape by default
============================  =======  ===========================================

The wording is in Jinja2 templates shipped in ``templates/``; dates are shown in the
event's timezone and the buyer's locale (see :mod:`eltiketi_adapters.notify.formatting`).
Install with the ``notify`` extra.
"""

from eltiketi_adapters.notify.files import EmlFileNotifier, SmsFileNotifier
from eltiketi_adapters.notify.http_sms import HttpSmsConfig, HttpSmsNotifier
from eltiketi_adapters.notify.mail import Mail, MailComposer
from eltiketi_adapters.notify.rendering import (
    DEFAULT_ORDER_URL,
    InvitationLink,
    MessageTemplates,
    TicketLink,
)
from eltiketi_adapters.notify.sms import SmsComposer
from eltiketi_adapters.notify.smtp import SmtpConfig, SmtpNotifier

__all__ = [
    "DEFAULT_ORDER_URL",
    "EmlFileNotifier",
    "HttpSmsConfig",
    "HttpSmsNotifier",
    "InvitationLink",
    "Mail",
    "MailComposer",
    "MessageTemplates",
    "SmsComposer",
    "SmsFileNotifier",
    "SmtpConfig",
    "SmtpNotifier",
    "TicketLink",
]
