"""Staff find a parent not stored yet by the external_userid WeCom gave them."""

import re
from urllib.parse import urlencode

import pytest
from django.utils import translation

from contacts.models import ExternalContact, FollowUser
from tests.admin_factories import (
    list_url,
    logged_in,
    lookup_url,
    make_staff,
    parent_answer,
    parent_url,
    seed,
    shown_messages,
    store_parent,
    text_of,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

MALFORMED = "不是 external_userid：它只由字母、数字和 _-@. 组成，例如 wmXXXXXXXX。"


def look_up(client, external_userid: str):
    return client.post(lookup_url(), {"external_userid": external_userid})


def errors_of(response) -> list[str]:
    return list(response.context["form"].errors.get("external_userid", []))


def test_it_stores_a_new_parent_and_opens_its_page(manager_client, wecom):
    wecom.answers(seed())

    response = look_up(manager_client, "woAAAA")

    contact = ExternalContact.objects.get(external_userid="woAAAA")
    assert response.status_code == 302
    assert response["Location"] == parent_url(contact)
    page = manager_client.get(response["Location"])
    assert shown_messages(page) == [("success", "已找到并保存「李四」。")]
    assert "李小明-爸爸" in text_of(page)
    assert set(FollowUser.objects.filter(contact=contact).values_list("userid", flat=True)) == {"rocky", "tommy"}
    assert contact.last_triggered_by.username == "manager"


def test_it_ignores_spaces_around_the_id(manager_client, wecom):
    wecom.answers(seed())

    response = look_up(manager_client, "  woAAAA \n")

    assert response.status_code == 302
    assert ExternalContact.objects.filter(external_userid="woAAAA").exists()


def test_looking_up_a_stored_parent_refreshes_it(manager_client, wecom):
    store_parent(wecom, parent_answer(name="李四"))
    wecom.answers(parent_answer(name="李四四"))

    response = look_up(manager_client, "woAAAA")

    contact = ExternalContact.objects.get()
    assert response["Location"] == parent_url(contact)
    assert contact.name == "李四四"
    assert shown_messages(manager_client.get(response["Location"])) == [("success", "已刷新「李四四」。")]


ERRORS = {
    40096: "企业微信中没有这个 external_userid，请核对后再试。",
    84061: "学校与这位家长已无联系（家长已删除学校或被移出），企业微信不再提供其信息。",
    48002: "请在企业微信管理后台为本应用开通「家校沟通」权限（家校沟通 → 设置 → API → 可调用接口的应用）。",
    60020: "请将本服务器的出口IP加入应用的「企业可信IP」。",
}


@pytest.mark.parametrize("errcode", ERRORS)
def test_it_explains_why_wecom_gave_no_parent_and_stores_nothing(manager_client, wecom, errcode):
    wecom.fails("wmUNKNOWN", errcode)

    response = look_up(manager_client, "wmUNKNOWN")

    assert response.status_code == 200
    [error] = errors_of(response)
    assert ERRORS[errcode] in error
    assert ERRORS[errcode] in text_of(response)
    assert 'value="wmUNKNOWN"' in text_of(response)
    assert not ExternalContact.objects.exists()
    assert wecom.contact_calls() == 1


@pytest.mark.parametrize("bad_id", ["wo AAAA", "<script>", "woAAAA;DROP", "x" * 129])
def test_it_refuses_a_malformed_id_without_asking_wecom(manager_client, wecom, bad_id):
    response = look_up(manager_client, bad_id)

    assert response.status_code == 200
    [error] = errors_of(response)
    assert error
    assert not ExternalContact.objects.exists()
    assert wecom.contact_calls() == 0


@pytest.mark.parametrize("bad_id", ["wo AAAA", "<script>", "woAAAA;DROP"])
def test_a_malformed_id_is_explained_on_the_page(manager_client, wecom, bad_id):
    response = look_up(manager_client, bad_id)

    page = text_of(response)
    assert MALFORMED in page


def test_a_name_typed_as_id_is_answered_in_chinese_with_a_link_to_the_search(manager_client, wecom):
    response = look_up(manager_client, "李小明")

    [error] = errors_of(response)
    assert error.startswith("「李小明」不是 external_userid")
    assert f'href="{list_url()}?{urlencode({"q": "李小明"})}"' in error
    assert "在家长列表中搜索「李小明」" in error
    assert not re.search(r"\bis not\b|valid", error)  # not a word of English
    assert wecom.contact_calls() == 0


def test_a_name_typed_as_id_is_answered_in_english_to_an_english_reader(manager_client, wecom):
    with translation.override(translation.get_language()):
        response = manager_client.post(lookup_url(), {"external_userid": "李小明"}, HTTP_ACCEPT_LANGUAGE="en")
        [error] = errors_of(response)

    assert error.startswith("“李小明” is not an external_userid")
    assert "Search the parent list for “李小明”" in error
    assert "不是" not in error and "搜索" not in error


def test_a_script_typed_as_id_is_shown_as_text(manager_client, wecom):
    response = look_up(manager_client, "<script>alert(1)</script>")

    page = text_of(response)
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_an_empty_id_is_required(manager_client, wecom):
    response = look_up(manager_client, "")

    assert response.status_code == 200
    assert errors_of(response)
    assert wecom.contact_calls() == 0


def test_the_list_links_to_the_lookup_page_for_staff_who_may_refresh(manager_client):
    response = manager_client.get(list_url())

    assert f'href="{lookup_url()}"' in text_of(response)


def test_the_list_does_not_link_to_the_lookup_page_for_viewers(viewer_client):
    response = viewer_client.get(list_url())

    assert response.status_code == 200
    assert lookup_url() not in text_of(response)


def test_the_link_follows_the_permission_not_the_group():
    client = logged_in(
        make_staff("finder", perms=["view_externalcontact", "view_all_parents", "lookup_externalcontact"])
    )

    response = client.get(list_url())

    assert f'href="{lookup_url()}"' in text_of(response)
