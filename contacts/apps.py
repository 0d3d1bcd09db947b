from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _update_staff_groups(sender, using="default", **kwargs) -> None:
    from contacts.staff_groups import ensure_staff_groups

    ensure_staff_groups(using=using)


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("家校通讯录")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_update_staff_groups, sender=self, dispatch_uid="contacts_staff_groups")
