"""Send one WeCom callback event to the app, signed and encrypted as WeCom does (demos and tests)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.sandbox.callbacks import CHANGE_TYPES, CallbackSender, event_xml

DEFAULT_URL = "http://127.0.0.1:8000/wecom/callback/"


class Command(BaseCommand):
    help = (
        "Send a WeCom callback event (e.g. edit_external_contact) to the app's callback URL, with the app's "
        "callback Token and EncodingAESKey; `verify` checks the URL as WeCom does when it is configured."
    )
    requires_system_checks: list[str] = []  # a client of the app: it needs neither the database nor the checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("change_type", choices=[*CHANGE_TYPES, "verify"], help="the event's ChangeType, or verify")
        parser.add_argument("--url", default=DEFAULT_URL, help=f"the app's callback URL (default {DEFAULT_URL})")
        parser.add_argument("--external-userid", default="", help="the parent (change_external_contact events)")
        parser.add_argument(
            "--userid",
            default="",
            help="the teacher (change_external_contact events), or the student's or parent's roster userid "
            "(change_school_contact events)",
        )
        parser.add_argument("--new-id", default="", help="the new roster userid, when it changed (update_*)")
        parser.add_argument("--state", default="", help="the add channel (State) of add/edit events")
        parser.add_argument(
            "--fail-reason", default="", help="transfer_fail: customer_refused (default) or customer_limit_exceed"
        )
        parser.add_argument("--token", help="callback Token (default: settings.WECOM_CALLBACK_TOKEN)")
        parser.add_argument("--aes-key", help="callback EncodingAESKey (default: settings.WECOM_CALLBACK_AES_KEY)")
        parser.add_argument("--corp-id", help="corp id, the receiveid (default: settings.WECOM_CORP_ID)")
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the app (default 10)")

    def handle(self, *args: Any, **options: Any) -> None:
        token = options["token"] or getattr(settings, "WECOM_CALLBACK_TOKEN", "")
        aes_key = options["aes_key"] or getattr(settings, "WECOM_CALLBACK_AES_KEY", "")
        corp_id = options["corp_id"] or getattr(settings, "WECOM_CORP_ID", "")
        if not (token and aes_key and corp_id):
            raise CommandError(
                "Set WECOM_CALLBACK_TOKEN, WECOM_CALLBACK_AES_KEY and WECOM_CORP_ID as the app has them, "
                "or pass --token, --aes-key and --corp-id."
            )
        change_type = options["change_type"]
        try:
            sender = CallbackSender(
                url=options["url"], token=token, encoding_aes_key=aes_key, corp_id=corp_id, timeout=options["timeout"]
            )
            if change_type == "verify":
                delivery = sender.verify_url()
            else:
                xml = event_xml(
                    corp_id=corp_id,
                    change_type=change_type,
                    external_userid=options["external_userid"],
                    userid=options["userid"],
                    new_id=options["new_id"],
                    state=options["state"],
                    fail_reason=options["fail_reason"],
                )
                delivery = sender.send_event(xml)
        except ValueError as error:
            raise CommandError(str(error)) from error
        except OSError as error:
            raise CommandError(f"{options['url']} could not be reached: {type(error).__name__}: {error}") from error
        self.stdout.write(f"HTTP {delivery.status} {delivery.body[:200]}")
        if not delivery.accepted:
            raise CommandError("The app did not accept the callback (see its log for the reason).")
        self.stdout.write(self.style.SUCCESS("URL verified." if change_type == "verify" else "Event accepted."))
