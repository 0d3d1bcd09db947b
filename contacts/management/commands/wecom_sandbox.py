"""Run the WeCom simulator (contacts.sandbox) on loopback until Ctrl-C."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.sandbox import SandboxServer, build_school, is_loopback_host, parse_assignment
from contacts.sandbox.faults import DEFAULT_RATE_KINDS, parse_kind

_SAMPLES = 5


class Command(BaseCommand):
    help = "Serve a simulated WeCom school edition API (gettoken, externalcontact, school roster) on loopback."
    requires_system_checks: list[str] = []  # the simulator needs neither the database nor the app's checks

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8001, help="default 8001; 0 picks a free port")
        parser.add_argument("--parents", type=int, default=200, help="number of parents in the school (default 200)")
        parser.add_argument("--seed", type=int, default=1, help="same seed, same school (default 1)")
        parser.add_argument(
            "--latency-ms",
            type=float,
            default=0,
            help="every answer leaves this long after its request arrived (default 0)",
        )
        parser.add_argument("--token-ttl", type=float, default=7200, help="access token lifetime in seconds")
        parser.add_argument("--corp-id", help="corp id to accept (default: settings.WECOM_CORP_ID)")
        parser.add_argument("--secret", help="app secret to accept (default: settings.WECOM_SECRET)")
        parser.add_argument(
            "--agent-id", help="AgentID the sign-in pages accept (default: settings.WECOM_AGENT_ID, else 1000002)"
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="EXTERNAL_USERID=KIND[:N]",
            help="make externalcontact/get for this id fail (first N calls only with :N); repeatable. "
            "KIND: an errcode (-1, 6000, 40014, 42001, 45009, 45033, 48002, 60011, 60020, 84061, 84074, 40096) "
            "or html502, html200, truncated, slow",
        )
        parser.add_argument("--fault-rate", type=float, default=0.0, help="share of calls failing at random (0..1)")
        parser.add_argument(
            "--fault-kinds",
            default=",".join(str(kind) for kind in DEFAULT_RATE_KINDS),
            help="comma-separated kinds the random rate draws from; write --fault-kinds=-1,... (default %(default)s)",
        )
        parser.add_argument(
            "--slow-seconds", type=float, default=30.0, help="how long a `slow` fault holds its answer (default 30)"
        )
        parser.add_argument(
            "--callback-url",
            default="",
            help="the app's callback URL, e.g. http://127.0.0.1:8000/wecom/callback/: edits made through the "
            "control API are then sent to it as WeCom events",
        )
        parser.add_argument("--callback-token", help="callback Token (default: settings.WECOM_CALLBACK_TOKEN)")
        parser.add_argument(
            "--callback-aes-key", help="callback EncodingAESKey (default: settings.WECOM_CALLBACK_AES_KEY)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host = options["host"]
        if not is_loopback_host(host):
            raise CommandError(f"--host {host}: the simulator only listens on a loopback address (127.0.0.1, ::1)")
        corp_id = options["corp_id"] or getattr(settings, "WECOM_CORP_ID", "")
        secret = options["secret"] or getattr(settings, "WECOM_SECRET", "")
        if not corp_id or not secret:
            raise CommandError("Set WECOM_CORP_ID and WECOM_SECRET, or pass --corp-id and --secret.")
        if options["parents"] < 1:
            raise CommandError("--parents must be at least 1")
        if not 0 <= options["fault_rate"] <= 1:
            raise CommandError("--fault-rate must be between 0 and 1")
        callback_token = options["callback_token"] or getattr(settings, "WECOM_CALLBACK_TOKEN", "")
        callback_aes_key = options["callback_aes_key"] or getattr(settings, "WECOM_CALLBACK_AES_KEY", "")
        if options["callback_url"] and not (callback_token and callback_aes_key):
            raise CommandError(
                "--callback-url needs WECOM_CALLBACK_TOKEN and WECOM_CALLBACK_AES_KEY (or --callback-token and "
                "--callback-aes-key), the same as the app's."
            )
        try:
            faults = dict(parse_assignment(text) for text in options["fault"])
            fault_kinds = tuple(parse_kind(kind) for kind in options["fault_kinds"].split(",") if kind.strip())
            server = SandboxServer(
                school=build_school(parents=options["parents"], seed=options["seed"]),
                corp_id=corp_id,
                secret=secret,
                host=host,
                port=options["port"],
                latency_ms=options["latency_ms"],
                token_ttl=options["token_ttl"],
                fault_rate=options["fault_rate"],
                faults=faults,
                slow_seconds=options["slow_seconds"],
                fault_kinds=fault_kinds or DEFAULT_RATE_KINDS,
                log_requests=options["verbosity"] >= 2,
                callback_url=options["callback_url"],
                callback_token=callback_token,
                callback_aes_key=callback_aes_key,
                agent_id=options["agent_id"] or getattr(settings, "WECOM_AGENT_ID", "") or "1000002",
            )
        except (ValueError, OSError) as error:
            raise CommandError(str(error)) from error
        self._print_banner(server, faults)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        finally:
            server.stop()

    def _print_banner(self, server: SandboxServer, faults: dict[str, Any]) -> None:
        school = server.school
        self.stdout.write(self.style.SUCCESS(f"WeCom sandbox serving {server.url}"))
        self.stdout.write(f"  set WECOM_API_BASE={server.url}")
        self.stdout.write(f"  corp id: {server.corp_id}")
        self.stdout.write(
            f"  school: {school.name}, {school.parent_count} parents, {school.student_count} students, "
            f"{len(school.class_ids())} classes, {len(school.staff_userids())} staff (seed {school.seed})"
        )
        self.stdout.write(f"  external_userids: {', '.join(school.external_userids()[:_SAMPLES])}, ...")
        self.stdout.write(f"  lost (84061): {', '.join(school.lost_external_userids()[:_SAMPLES])}")
        self.stdout.write(f"  staff userids: {', '.join(school.staff_userids()[:_SAMPLES])}, ...")
        self.stdout.write(
            f"  sign-in: set WECOM_LOGIN_BASE and WECOM_OAUTH_BASE={server.base_url}, "
            f"WECOM_AGENT_ID={server.sign_in.agent_id}"
        )
        if server.latency_ms:
            self.stdout.write(f"  latency: {server.latency_ms:g} ms")
        if faults or server.faults["rate"]:
            self.stdout.write(f"  faults: {server.faults}")
        self.stdout.write(f"  control API: {server.base_url}/sandbox/info, /sandbox/stats, /sandbox/faults")
        if server.callback_url:
            self.stdout.write(f"  callbacks to: {server.callback_url} (POST {server.base_url}/sandbox/callbacks/send)")
        self.stdout.write("Press Ctrl-C to stop.")
