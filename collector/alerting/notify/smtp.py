"""SMTP email: one mail per message to the receiver's ``to`` plus the level's people."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from campusguard.errors import DeliveryError
from collector.alerting.config import SmtpReceiver
from collector.alerting.model import Message

__all__ = ["SmtpNotifier", "build_mail", "tls_context"]


def build_mail(config: SmtpReceiver, message: Message) -> EmailMessage | None:
    to = list(dict.fromkeys([*config.to, *(p.email for p in message.people if p.email)]))
    if not to:
        return None
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = config.sender
    mail["To"] = ", ".join(to)
    mail["Date"] = formatdate(localtime=False)
    mail["X-CampusGuard-Drill"] = "true" if message.drill else "false"
    mail["X-CampusGuard-Alerts"] = " ".join(str(a["id"]) for a in message.alerts)
    mail.set_content(message.text)
    return mail


def tls_context(config: SmtpReceiver) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=config.tls_ca_file)
    if not config.tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpNotifier:
    def __init__(self, config: SmtpReceiver, timeout: float = 10.0) -> None:
        self.name = config.name
        self.config = config
        self.timeout = timeout

    def send(self, message: Message) -> None:
        mail = build_mail(self.config, message)
        if mail is None:
            return
        c = self.config
        try:
            with smtplib.SMTP(c.host, c.port, timeout=self.timeout) as smtp:
                if c.starttls:
                    smtp.starttls(context=tls_context(c))
                if c.username is not None:
                    smtp.login(c.username, c.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(f"smtp_{exc.smtp_code}: {exc}", retry=not permanent) from exc
        except ssl.SSLError as exc:
            raise DeliveryError(f"tls: {exc}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"transport: {type(exc).__name__}: {exc}") from exc
