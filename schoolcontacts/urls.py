from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from contacts.callbacks.views import wecom_callback
from contacts.signin.views import wecom_sign_in, wecom_sign_in_callback
from contacts.views import health

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("healthz", health, name="health"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("wecom/callback/", wecom_callback, name="wecom_callback"),
    path("signin/wecom/", wecom_sign_in, name="wecom_sign_in"),
    path("signin/wecom/callback/", wecom_sign_in_callback, name="wecom_sign_in_callback"),
    path("chat/", include("contacts.chat.urls")),
    path("admin/", admin.site.urls),
]
