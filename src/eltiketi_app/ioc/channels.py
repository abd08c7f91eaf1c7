"""Building the notification channels the settings ask for.

Embedded: e-mails as ``.eml`` files and SMS as text files in ``<data dir>/outbox``.
Configured: SMTP (``ELTIKETI_SMTP_URL``) and the HTTP SMS provider (``ELTIKETI_SMS_URL``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from eltiketi_app.ioc.types import Notifiers
from eltiketi_app.settings import Settings, SettingsError
from eltiketi_core.ports.notifications import Notifier

DEFAULT_MAIL_FROM = "elTiketi <tickets@eltiketi.localhost>"


@asynccontextmanager
async def open_notifiers(settings: Settings) -> AsyncIterator[Notifiers]:
    from eltiketi_adapters.notify import (
        EmlFileNotifier,
        HttpSmsConfig,
        HttpSmsNotifier,
        SmsFileNotifier,
        SmtpConfig,
        SmtpNotifier,
    )
    from eltiketi_app.web.keys import invitation_links, ticket_links

    public_url = settings.effective_public_url
    ticket_link = ticket_links(settings).url  # e-tickets open the signed ticket page
    invitation_link = invitation_links(settings).url  # invitations carry their signed link
    mail_from = settings.mail_from or DEFAULT_MAIL_FROM
    channels: list[Notifier] = []
    async with AsyncExitStack() as stack:
        if settings.smtp_url is not None:
            try:
                smtp_config = SmtpConfig.from_url(settings.smtp_url)
                channels.append(
                    SmtpNotifier(
                        smtp_config,
                        mail_from=mail_from,
                        public_url=public_url,
                        ticket_link=ticket_link,
                        invitation_link=invitation_link,
                    )
                )
            except ValueError as exc:
                raise SettingsError([f"ELTIKETI_SMTP_URL / ELTIKETI_MAIL_FROM: {exc}"]) from exc
        else:
            channels.append(
                EmlFileNotifier(
                    settings.outbox_dir,
                    mail_from=mail_from,
                    public_url=public_url,
                    ticket_link=ticket_link,
                    invitation_link=invitation_link,
                )
            )
        if settings.sms_url is not None:
            try:
                sms_config = HttpSmsConfig.from_settings(
                    settings.sms_url,
                    settings.sms_user or "",
                    settings.sms_token or "",
                    settings.sms_from,  # None: the sender rides in the URL as ?from=
                )
            except ValueError as exc:
                raise SettingsError([f"ELTIKETI_SMS_*: {exc}"]) from exc
            sms = HttpSmsNotifier(sms_config, public_url=public_url, ticket_link=ticket_link)
            stack.push_async_callback(sms.aclose)
            channels.append(sms)
        else:
            channels.append(
                SmsFileNotifier(settings.outbox_dir, public_url=public_url, ticket_link=ticket_link)
            )
        yield Notifiers(channels=tuple(channels))
