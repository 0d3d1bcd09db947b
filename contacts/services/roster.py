"""Find the school's parents through WeCom's school roster (docs 92299, 96741)."""

from contacts.wecom.client import WeComClient

CLASS_DEPARTMENT = 1


def discover_external_userids(*, client: WeComClient) -> list[str]:
    """The external_userid of every subscribed parent in every class, each once, in roster order."""
    found: dict[str, None] = {}
    for department in client.list_departments():
        if department.get("type") != CLASS_DEPARTMENT:
            continue
        for parent in client.list_parents(department["id"]):
            external_userid = parent.get("external_userid")
            if external_userid:
                found.setdefault(external_userid, None)
    return list(found)
