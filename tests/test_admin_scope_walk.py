"""Every admin URL, walked as a teacher, shows nothing outside their families; walked as the office
and as a superuser, it shows what each may see.

The walk is built from the admin site itself: every registered admin's URLs (its list, the page
and history of every object, its extra views), the list searched for each text outside the
teacher's scope and filtered by values from outside it, and the site's own pages. An admin or an
extra view added later is walked too; an extra view with an argument the walk does not know
fails the test until it is taught one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import unquote, urlencode

import pytest
from django.contrib import admin
from django.urls import reverse

from contacts.models import (
    AuditAction,
    AuditEntry,
    CallbackEvent,
    CallbackStatus,
    ContactSnapshot,
    ExternalContact,
    JobItem,
    JobItemStatus,
    JobKind,
    JobStatus,
    StaffMember,
    SyncJob,
)
from tests.admin_factories import logged_in
from tests.scope_factories import INSIDE_TEXTS, OUTSIDE, OUTSIDE_FILTERS, OUTSIDE_PARENTS, OUTSIDE_TEACHERS

pytest_plugins = ["tests.admin_factories", "tests.scope_factories"]
pytestmark = pytest.mark.django_db

# How the admins name an object's id in their URLs (Django's UserAdmin: <id>/password/).
OBJECT_ARGUMENTS = {"object_id", "id"}
# Values of the extra views' URL arguments, besides object ids.
URL_ARGUMENTS = {"kind": JobKind.values}
# A refusal of a filter the list does not offer is 400.
ANSWERS = {200, 302, 400, 403, 404, 405}


@dataclass(frozen=True)
class Visit:
    url: str
    query: dict

    @property
    def asked(self) -> str:
        return unquote(self.url + "?" + urlencode(self.query))


@pytest.fixture
def records(school, superuser):
    """A job, a WeCom event and audit entries about 王五, a parent outside rocky's scope."""
    outside = school.contacts["woBBBB"]
    job = SyncJob.objects.create(kind=JobKind.SYNC_SCHOOL, status=JobStatus.FINISHED, created_by=superuser)
    JobItem.objects.create(job=job, external_userid="woBBBB", status=JobItemStatus.FAILED, error="王五 84061")
    CallbackEvent.objects.create(
        fingerprint="f1",
        event="change_external_contact",
        change_type="edit_external_contact",
        external_userid="woBBBB",
        userid="alice_wang",
        payload={"ExternalUserID": "woBBBB", "UserID": "alice_wang"},
        status=CallbackStatus.PROCESSED,
        outcome="已刷新「王五」",
        contact=outside,
    )
    # An entry as older versions wrote them, its outcome a text naming the parent.
    AuditEntry.objects.create(
        user=superuser,
        username=superuser.get_username(),
        action=AuditAction.REFRESH,
        contact=outside,
        external_userid=outside.external_userid,
        outcome="王五",
    )


def object_urls(model_admin) -> list[str]:
    """The URLs of every named view of an admin, for every object and every argument value."""
    urls = []
    objects = list(model_admin.model._default_manager.values_list("pk", flat=True))
    for pattern in model_admin.urls:
        if not pattern.name:
            continue  # the old address of an object's page, which only redirects to it
        arguments = pattern.pattern.converters
        if not arguments:
            urls.append(reverse(f"admin:{pattern.name}"))
        elif len(arguments) == 1 and set(arguments) <= OBJECT_ARGUMENTS:
            urls += [reverse(f"admin:{pattern.name}", args=[pk]) for pk in objects]
        else:
            [name] = set(arguments) - OBJECT_ARGUMENTS
            assert name in URL_ARGUMENTS, f"the walk needs values for <{name}> of {pattern.name}"
            urls += [reverse(f"admin:{pattern.name}", kwargs={name: value}) for value in URL_ARGUMENTS[name]]
    return urls


def walk() -> list[Visit]:
    visits = [Visit(reverse("admin:index"), {})]
    app_labels = {model._meta.app_label for model in admin.site._registry}
    visits += [Visit(reverse("admin:app_list", args=[label]), {}) for label in sorted(app_labels)]
    for model, model_admin in admin.site._registry.items():
        visits += [Visit(url, {}) for url in object_urls(model_admin)]
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        if model_admin.search_fields:
            visits += [Visit(changelist, {"q": text}) for text in OUTSIDE]
        if model is ExternalContact:
            visits += [Visit(changelist, params) for params in OUTSIDE_FILTERS]
        outside_pks = ExternalContact.objects.filter(external_userid__in=OUTSIDE_PARENTS).values_list("pk", flat=True)
        visits += [Visit(changelist, {"contact__id__exact": pk}) for pk in outside_pks]
    visits += [
        Visit(reverse("admin:autocomplete"), {"app_label": "contacts", "model_name": model, "field_name": "contact"})
        for model in ("contactsnapshot", "callbackevent", "followuser")
    ]
    return visits


def shown_text(response) -> str:
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(response.json(), ensure_ascii=False)
    return response.content.decode()


def outside_texts(response, visit: Visit) -> list[str]:
    """What the page shows from outside the scope, beyond what the address itself asked for."""
    page = shown_text(response)
    return [text for text in OUTSIDE if text in page and text not in visit.asked]


def test_a_teacher_finds_nothing_outside_their_families_anywhere(school, records, wecom):
    client = logged_in(school.rocky)
    calls_before = wecom.contact_calls()
    shown = ""

    for visit in walk():
        response = client.get(visit.url, visit.query)
        assert response.status_code in ANSWERS, (visit.asked, response.status_code)
        assert outside_texts(response, visit) == [], visit.asked
        if response.status_code == 200 and not visit.query:
            shown += shown_text(response)

    assert [text for text in INSIDE_TEXTS if text not in shown] == [], "the walk reads the teacher's own pages too"
    assert wecom.contact_calls() == calls_before


def test_what_is_outside_answers_not_found_to_a_teacher(school, records, wecom):
    client = logged_in(school.rocky)
    snapshots = ContactSnapshot.objects.filter(contact__external_userid__in=OUTSIDE_PARENTS)
    teachers = StaffMember.objects.filter(userid__in=OUTSIDE_TEACHERS)
    urls = [
        reverse(f"admin:contacts_externalcontact_{view}", args=[contact.pk])
        for contact in school.outside()
        for view in ("change", "history")
    ]
    urls += [
        reverse("admin:contacts_contactsnapshot_change", args=[pk]) for pk in snapshots.values_list("pk", flat=True)
    ]
    urls += [
        reverse(f"admin:contacts_staffmember_{view}", args=[m.pk]) for m in teachers for view in ("change", "history")
    ]
    calls_before = wecom.contact_calls()

    for url in urls:
        assert client.get(url).status_code == 404, url
    for contact in school.outside():
        assert client.post(reverse("admin:contacts_externalcontact_refresh", args=[contact.pk])).status_code == 404

    assert wecom.contact_calls() == calls_before


def test_a_teacher_may_not_open_jobs_events_or_the_audit_log(school, records):
    client = logged_in(school.rocky)

    for model in (SyncJob, CallbackEvent):
        for url in object_urls(admin.site._registry[model]):
            assert client.get(url).status_code in {403, 404, 405}, url
    assert client.get(reverse("admin:contacts_auditentry_changelist")).status_code == 403


def test_a_teachers_own_families_are_found_by_the_walk(school, records):
    client = logged_in(school.rocky)
    inside = [
        reverse(f"admin:contacts_externalcontact_{view}", args=[contact.pk])
        for contact in school.inside()
        for view in ("change", "history")
    ]

    for url in inside:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", ["superuser", "manager", "viewer"])
def test_the_office_and_the_superuser_find_everything_outside_a_teachers_scope(school, records, role, request):
    client = logged_in(request.getfixturevalue(role))
    shown = ""

    for visit in walk():
        if visit.query:
            continue  # a search or filter would show some of it again
        response = client.get(visit.url)
        assert response.status_code in ANSWERS, (visit.asked, response.status_code)
        if response.status_code == 200:
            shown += shown_text(response)

    assert [text for text in OUTSIDE if text not in shown] == []
    for contact in school.outside():
        assert client.get(reverse("admin:contacts_externalcontact_change", args=[contact.pk])).status_code == 200
