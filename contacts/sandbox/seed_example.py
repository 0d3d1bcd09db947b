"""The example answer of the externalcontact/get page (doc 91670), served for `woAAAA`.

The page prints it as invalid JSON: a full-width colon after "group_name", and
"remark_corp_name"/"remark_mobiles" of "rocky" inside its "tags" list. The field table
is the authority, so here they are fixed: both belong to rocky's follow_user object.
Everything else is exactly the page's values, including "Mangaer" and the numbers in
rocky's remark_mobiles (the subscriber_info ones are strings).
"""

from __future__ import annotations

import copy
from typing import Any

EXTERNAL_USERID = "woAAAA"
PARENT_NAME = "李四"
CHILD_NAME = "李小明"
RELATION = "爸爸"
MOBILE = "10000000000"
FOLLOW_USERIDS = ("rocky", "tommy")

_CONTACT: dict[str, Any] = {
    "external_contact": {
        "external_userid": EXTERNAL_USERID,
        "name": PARENT_NAME,
        "position": "Mangaer",
        "avatar": "http://p.qlogo.cn/bizmail/IcsdgagqefergqerhewSdage/0",
        "corp_name": "腾讯",
        "corp_full_name": "腾讯科技有限公司",
        "type": 2,
        "gender": 1,
        "unionid": "unAAAAA",
        "is_subscribe": 1,
        "subscriber_info": {
            "tag_id": ["TAG_ID1", "TAG_ID2"],
            "remark_mobiles": ["10000000000", "10000000001"],
            "remark": "李小明-爸爸",
        },
        "external_profile": {
            "external_attr": [
                {"type": 0, "name": "文本名称", "text": {"value": "文本"}},
                {"type": 1, "name": "网页名称", "web": {"url": "http://www.test.com", "title": "标题"}},
                {
                    "type": 2,
                    "name": "测试app",
                    "miniprogram": {"appid": "wxAAAAA", "pagepath": "/index", "title": "my miniprogram"},
                },
            ]
        },
    },
    "follow_user": [
        {
            "userid": "rocky",
            "remark": "李部长",
            "description": "对接采购事物",
            "createtime": 1525779812,
            "tags": [{"group_name": "标签分组名称", "tag_name": "标签名称", "type": 1}],
            "remark_corp_name": "腾讯科技",
            "remark_mobiles": [10000000003, 10000000004],
        },
        {
            "userid": "tommy",
            "remark": "李总",
            "description": "采购问题咨询",
            "createtime": 1525881637,
            "state": "外联二维码1",
        },
    ],
}


def seed_example_contact() -> dict[str, Any]:
    """A fresh copy of the example (callers may change it)."""
    return copy.deepcopy(_CONTACT)
