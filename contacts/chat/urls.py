from django.urls import path

from contacts.chat.views import jssdk_signature, parent_card_fragment, parent_page, refresh_parent

urlpatterns = [
    path("parent/", parent_page, name="chat_parent"),
    path("parent/card/", parent_card_fragment, name="chat_parent_card"),
    path("parent/refresh/", refresh_parent, name="chat_parent_refresh"),
    path("jssdk/signature/", jssdk_signature, name="chat_jssdk_signature"),
]
