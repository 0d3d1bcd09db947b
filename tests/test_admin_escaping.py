"""Whatever a parent or a teacher typed into WeCom is shown as text, never run as HTML or script."""

import re

import pytest

from tests.admin_factories import (
    inline_rows,
    list_url,
    parent_answer,
    parent_url,
    refresh_url,
    shown_messages,
    store_parent,
    teacher,
    text_of,
    with_teacher_remark,
)

pytest_plugins = ["tests.admin_factories"]
pytestmark = pytest.mark.django_db

SCRIPT_NAME = "<script>alert(1)</script>"
SCRIPT_NAME_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
IMG_REMARK = "<img src=x onerror=alert(1)>"
IMG_REMARK_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
QUOTE_BREAKING_URL = 'https://example.com/"><script>alert(2)</script>'


def hostile_answer(avatar: str = "javascript:alert(1)") -> dict:
    answer = parent_answer(
        "woEVIL",
        name=SCRIPT_NAME,
        avatar=avatar,
        subscriber_info={"remark": "<b>粗体</b>-爸爸", "remark_mobiles": []},
        external_profile={
            "external_attr": [
                {"type": 1, "name": "坏链接", "web": {"url": "javascript:alert(1)", "title": "点我"}},
                {"type": 1, "name": "大写坏链接", "web": {"url": "JaVaScRiPt:alert(3)", "title": "也点我"}},
                {"type": 1, "name": "学校主页", "web": {"url": "https://example.com/school", "title": "学校主页"}},
                {"type": 1, "name": "引号", "web": {"url": QUOTE_BREAKING_URL, "title": "引号"}},
                {"type": 0, "name": "文本", "text": {"value": "<u>下划线</u>"}},
                {
                    "type": 2,
                    "name": "小程序",
                    "miniprogram": {
                        "appid": "wx<b>A</b>",
                        "pagepath": "/p?x=<i>",
                        "title": "<script>alert(5)</script>",
                    },
                },
                {"type": 9, "name": "未来的类型", "future": {"html": "<script>alert(6)</script>"}},
            ]
        },
    )
    answer["follow_user"] = [teacher("rocky", IMG_REMARK, tags=["<i>标签</i>"])]
    return answer


@pytest.fixture
def hostile_parent(wecom):
    return store_parent(wecom, hostile_answer())


def attribute_rows(page: str) -> list[str]:
    return inline_rows(page, prefix="attributes")


def assert_no_live_markup(page: str) -> None:
    for raw in (
        SCRIPT_NAME,
        IMG_REMARK,
        "<b>粗体</b>",
        "<u>下划线</u>",
        "<i>标签</i>",
        "<script>alert(2)",
        "<script>alert(5)",
        "<script>alert(6)",
        "<b>A</b>",
    ):
        assert raw not in page, raw
    assert not re.search(r"""href=["']?\s*javascript:""", page, flags=re.I)
    assert not re.search(r"""src=["']?\s*javascript:""", page, flags=re.I)


def test_the_list_shows_the_name_as_text(hostile_parent, viewer_client):
    response = viewer_client.get(list_url())

    page = text_of(response)
    assert SCRIPT_NAME_ESCAPED in page
    assert "&lt;b&gt;粗体&lt;/b&gt;-爸爸" in page
    assert_no_live_markup(page)


def test_the_list_shows_a_searched_name_as_text(hostile_parent, viewer_client):
    response = viewer_client.get(list_url(), {"q": "<script>"})

    page = text_of(response)
    assert [c.external_userid for c in response.context["cl"].result_list] == ["woEVIL"]
    assert SCRIPT_NAME_ESCAPED in page
    assert_no_live_markup(page)


def test_the_parent_page_shows_names_and_remarks_as_text(hostile_parent, manager_client):
    response = manager_client.get(parent_url(hostile_parent))

    assert response.status_code == 200
    page = text_of(response)
    assert f"<title>{SCRIPT_NAME_ESCAPED} |" in page
    assert f'<div class="readonly">{SCRIPT_NAME_ESCAPED}</div>' in page
    [rocky] = inline_rows(page)
    assert f"<p>{IMG_REMARK_ESCAPED}</p>" in rocky
    assert "&lt;i&gt;标签&lt;/i&gt;" in rocky
    assert "&lt;u&gt;下划线&lt;/u&gt;" in page
    assert_no_live_markup(page)


def test_a_changed_remark_in_the_history_is_shown_as_text(hostile_parent, manager_client, wecom):
    store_parent(wecom, with_teacher_remark(hostile_answer(), "rocky", "<svg onload=alert(4)>"))

    page = text_of(manager_client.get(parent_url(hostile_parent)))

    assert f"备注 (rocky)：{IMG_REMARK_ESCAPED} → &lt;svg onload=alert(4)&gt;" in page
    assert "<svg onload" not in page
    assert_no_live_markup(page)


def test_a_javascript_address_is_not_a_link(hostile_parent, viewer_client):
    page = text_of(viewer_client.get(parent_url(hostile_parent)))

    rows = attribute_rows(page)
    assert len(rows) == 7
    bad, upper = rows[0], rows[1]
    assert "<a " not in bad
    assert "点我 (javascript:alert(1))" in bad
    assert "<a " not in upper
    assert_no_live_markup(page)


def test_a_miniprogram_and_an_unknown_attribute_type_are_shown_as_text(hostile_parent, viewer_client):
    page = text_of(viewer_client.get(parent_url(hostile_parent)))

    miniprogram, unknown = attribute_rows(page)[5:]
    assert "&lt;script&gt;alert(5)&lt;/script&gt;" in miniprogram
    assert "wx&lt;b&gt;A&lt;/b&gt;" in miniprogram
    assert "&lt;script&gt;alert(6)&lt;/script&gt;" in unknown
    assert_no_live_markup(page)


def test_a_refresh_message_shows_the_name_as_text(hostile_parent, manager_client, wecom):
    wecom.answers(hostile_answer())

    response = manager_client.post(refresh_url(hostile_parent), follow=True)

    [(level, text)] = shown_messages(response)
    assert (level, text) == ("success", f"已从企业微信刷新「{SCRIPT_NAME}」：无变化")
    assert f"已从企业微信刷新「{SCRIPT_NAME_ESCAPED}」：无变化" in text_of(response)
    assert_no_live_markup(text_of(response))


def test_an_https_address_is_a_link(hostile_parent, viewer_client):
    page = text_of(viewer_client.get(parent_url(hostile_parent)))

    good = attribute_rows(page)[2]
    assert re.search(r'<a href="https://example\.com/school"[^>]*rel="noopener noreferrer"[^>]*>学校主页</a>', good)


def test_an_address_cannot_break_out_of_its_link(hostile_parent, viewer_client):
    page = text_of(viewer_client.get(parent_url(hostile_parent)))

    quoted = attribute_rows(page)[3]
    assert '<a href="https://example.com/&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in quoted
    assert_no_live_markup(page)


def image_sources(page: str) -> list[str]:
    return re.findall(r"<img\b[^>]*\bsrc=\"([^\"]*)\"", page, flags=re.I)


@pytest.mark.parametrize(
    "avatar",
    ["javascript:alert(1)", "data:image/svg+xml,<svg onload=alert(1)>", "//evil.example/a.png", "ftp://x/a.png"],
)
def test_an_avatar_that_is_not_an_http_address_is_not_shown_as_an_image(wecom, viewer_client, avatar):
    contact = store_parent(wecom, hostile_answer(avatar=avatar))

    for page in (text_of(viewer_client.get(parent_url(contact))), text_of(viewer_client.get(list_url()))):
        # The admin's own icons are the only images left.
        assert all(src.startswith("/static/") for src in image_sources(page)), image_sources(page)
        assert "<svg onload" not in page
        assert not re.search(r"<img[^>]*(javascript:|data:|evil\.example|ftp:)", page, flags=re.I)


def test_an_http_avatar_is_shown_without_sending_the_referer(stored_parent, viewer_client):
    avatar = "http://p.qlogo.cn/bizmail/IcsdgagqefergqerhewSdage/0"

    for page in (text_of(viewer_client.get(parent_url(stored_parent))), text_of(viewer_client.get(list_url()))):
        assert avatar in image_sources(page)
        [img] = re.findall(rf"<img\b[^>]*\bsrc=\"{re.escape(avatar)}\"[^>]*>", page)
        assert 'referrerpolicy="no-referrer"' in img
