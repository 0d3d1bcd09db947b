"""The staff account of the WeCom member a sign-in code belongs to.

A member signs in to the account linked to their userid (WeComAccount). A member without
one gets an account on their first sign-in, with the role 教师 and no password, unless the
school turned that off (WECOM_LOGIN_CREATE_USERS): then an admin creates and links accounts
first. Nobody else signs in: not someone outside the school, not a disabled account.
"""

from __future__ import annotations

import logging
from enum import Enum

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import IntegrityError, transaction

from contacts.models import WeComAccount
from contacts.staff_groups import TEACHER
from contacts.wecom.client import WeComClient
from contacts.wecom.parsing import ParsedMember

logger = logging.getLogger("contacts.signin")

# Django's limit on first_name.
MAX_FIRST_NAME = 150


class SignInProblem(str, Enum):  # noqa: UP042 (str() and format() stay as they are)
    NOT_MEMBER = "not_member"  # the code belongs to someone outside the school (a parent's WeChat)
    NO_ACCOUNT = "no_account"  # a member without an account, and accounts are not created on sign-in
    DISABLED = "disabled"  # the account is not active
    NOT_STAFF = "not_staff"  # the account may not use the admin


class SignInRefused(Exception):
    """WeCom named someone who may not sign in here."""

    def __init__(self, problem: SignInProblem, *, userid: str = "", username: str = "") -> None:
        super().__init__(f"WeCom sign-in refused: {problem.value} ({userid or username or 'not a member'})")
        self.problem = problem
        self.userid = userid
        self.username = username


def sign_in_account(*, code: str, client: WeComClient, create_users: bool) -> AbstractBaseUser:
    """The account the member of `code` signs in to, created for a new member when `create_users`.

    Raises SignInRefused when they may not sign in, and WeComError when WeCom refused the
    code (errcode 40029: bad, used or expired) or could not be asked.
    """
    identity = client.get_user_identity(code)
    if not identity.is_member:
        logger.warning("WeCom sign-in refused: not a member of the school")
        raise SignInRefused(SignInProblem.NOT_MEMBER)
    userid = identity.userid
    account = WeComAccount.objects.select_related("user").filter(userid=userid).first()
    if account is not None:
        user = account.user
    elif create_users:
        user = _create_member_account(member=client.get_member(userid))
    else:
        logger.warning("WeCom sign-in refused: member %s has no account", userid)
        raise SignInRefused(SignInProblem.NO_ACCOUNT, userid=userid)
    if not user.is_active:
        logger.warning("WeCom sign-in refused: the account of member %s is disabled", userid)
        raise SignInRefused(SignInProblem.DISABLED, userid=userid, username=user.get_username())
    if not user.is_staff:
        logger.warning("WeCom sign-in refused: the account of member %s is not a staff account", userid)
        raise SignInRefused(SignInProblem.NOT_STAFF, userid=userid, username=user.get_username())
    logger.info("WeCom sign-in: member %s as %s", userid, user.get_username())
    return user


def _create_member_account(*, member: ParsedMember) -> AbstractBaseUser:
    """A staff account with the role 教师 and no password, linked to the member."""
    users = get_user_model().objects
    try:
        with transaction.atomic():
            user = users.model(
                username=_free_username(member.userid), first_name=(member.name or "")[:MAX_FIRST_NAME], is_staff=True
            )
            user.set_unusable_password()
            user.save()
            teachers = Group.objects.filter(name=TEACHER).first()
            if teachers is None:
                logger.error("The group %s is missing (python manage.py migrate creates it)", TEACHER)
            else:
                user.groups.add(teachers)
            WeComAccount.objects.create(user=user, userid=member.userid)
    except IntegrityError:
        # The same member signing in twice at once (a double click): the other request made the account.
        account = WeComAccount.objects.select_related("user").filter(userid=member.userid).first()
        if account is None:
            raise
        return account.user
    logger.info("WeCom sign-in: account %s created for member %s", user.get_username(), member.userid)
    return user


def _free_username(userid: str) -> str:
    """The userid, unless an account already has that name: it is never taken over."""
    users = get_user_model().objects
    candidate, number = userid, 1
    while users.filter(username=candidate).exists():
        number += 1
        candidate = f"{userid}-wecom" if number == 2 else f"{userid}-wecom{number}"
    return candidate
