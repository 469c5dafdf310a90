from django.urls import path
from shop import views

urlpatterns = [
    path("", views.home),
    path("items/<int:item_id>/", views.item),  # counted as /items/{item_id}/
    path("marketing/", views.marketing),
    path("consent-state/", views.consent_state),
    path("analytics.js", views.analytics_js),
]
